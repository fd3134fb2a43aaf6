export * from "./types.ts";
export { ADAPTER_TYPES, getAdapter } from "./registry.ts";
export { loadSources, parseSources, SourcesConfigError } from "./config.ts";
export { mapAnswers, normalizeLabel, type MappedPatient, type MapperSource } from "./mapper.ts";
export { matchLabel, normalizeKey } from "./labels.ts";
export {
  normalizeConsent, normalizeCountry, normalizeDate, normalizeEmail, normalizeGender, normalizePhone, normalizePostalCode,
} from "./normalize.ts";
export { splitFullName } from "./names.ts";
export { authenticateSignature, authenticateToken } from "./adapters/auth.ts";
export { detectHeyflowShape } from "./adapters/heyflow.ts";
export { parseGoogleForms } from "./adapters/google-forms.ts";
