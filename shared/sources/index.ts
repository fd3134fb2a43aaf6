// What the services use of the sources module: the adapter contract and types, the
// registry, and the sources file loader. Tests import the parts they exercise directly.

export { loadSources } from "./config.ts";
export { getAdapter } from "./registry.ts";
export * from "./types.ts";
