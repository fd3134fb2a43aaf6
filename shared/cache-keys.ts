/** Redis keys shared by the writer (projector invalidates) and the reader (dashboard caches). */
export const patientCacheKey = (id: string | number) => `hookline:patient:${id}`;
