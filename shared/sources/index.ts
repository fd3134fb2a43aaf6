export * from "./types.ts";
export { getAdapter } from "./registry.ts";
export { loadSources, parseSources, SourcesConfigError } from "./config.ts";
export { mapAnswers, normalizeLabel } from "./mapper.ts";
