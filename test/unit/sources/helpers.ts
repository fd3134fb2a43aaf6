// Small builders for adapter tests: a RawRequest and a SourceConfig with sensible defaults.
import type { AuthConfig, RawRequest, SourceConfig } from "../../../shared/sources/types.ts";

export const NOW = Date.parse("2024-06-01T12:00:00Z");

export function request(
  body: unknown,
  init: Partial<Omit<RawRequest, "body">> & { contentType?: string } = {},
): RawRequest {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    "content-type":
      init.contentType ?? (typeof body === "string" ? "application/x-www-form-urlencoded" : "application/json"),
    ...init.headers,
  };
  return {
    method: init.method ?? "POST",
    headers,
    query: init.query ?? {},
    body: new TextEncoder().encode(text),
    now: init.now ?? NOW,
  };
}

export function source(
  adapter: SourceConfig["adapter"],
  auth: AuthConfig,
  extra: Partial<SourceConfig> = {},
): SourceConfig {
  return {
    id: adapter,
    adapter,
    auth,
    contentTypes: ["application/json"],
    maxBodyBytes: 1 << 20,
    phoneRegion: "DE",
    dateOrder: "DMY",
    forms: {},
    allowedIps: [],
    rateLimitPerSecond: 0,
    ...extra,
  };
}
