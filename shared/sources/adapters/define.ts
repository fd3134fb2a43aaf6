// One adapter from its declaration and its parsing functions. Authentication is by scheme
// (auth.ts), the same for every adapter; only which schemes are allowed is the adapter's.
import type { AdapterSpec, AuthResult, RawRequest, SourceAdapter, SourceConfig } from "../types.ts";
import { authenticateSignature } from "./auth.ts";

/** The 401 code of a source configured with a scheme its adapter cannot verify. */
export const UNSUPPORTED_AUTH = "unsupported_auth";

/**
 * Builds a SourceAdapter: `authenticate` verifies under the source's scheme, and refuses
 * one the adapter does not declare (the sources file is checked at load, so this is the
 * second line of defence).
 *
 * @example
 * export const acmeAdapter = defineAdapter({
 *   authSchemes: ["standard-webhooks"], contentTypes: ["application/json"], acceptsGet: false,
 *   providerEventId: (req, auth) => auth.eventId ?? null,
 *   parse: (req, source) => buildEvent(source, { ... }),
 * });
 */
export function defineAdapter(spec: AdapterSpec & Pick<SourceAdapter, "providerEventId" | "parse">): SourceAdapter {
  return {
    ...spec,
    authenticate(req: RawRequest, source: SourceConfig): AuthResult {
      if (!spec.authSchemes.includes(source.auth.scheme)) {
        return {
          ok: false,
          code: UNSUPPORTED_AUTH,
          message: `auth scheme ${source.auth.scheme} is not supported by the ${source.adapter} adapter`,
        };
      }
      return authenticateSignature(req, source.auth);
    },
  };
}

/** Every scheme that signs the request (all but the shared token). */
export const SIGNATURE_SCHEMES = ["standard-webhooks", "typeform", "github", "stripe"] as const;
