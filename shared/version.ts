// The hookline version: package.json's, embedded by `bun build --compile` like any import.
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
