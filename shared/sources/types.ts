// The adapter contract: every source adapter is a set of pure functions from a raw
// request (bytes + headers, exactly as received) to a canonical event. No I/O here:
// the ingress and projector services do the I/O and call these.
import type { CountryCode } from "libphonenumber-js";
import type { CanonicalField, PatientRecord } from "../patient-fields.ts";
import type { AdapterType } from "./registry.ts";

/** A request as the ingress received it. `body` is the raw bytes, never re-encoded. */
export interface RawRequest {
  method: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  /** URL query parameters (a HeyFlow GET sends its answers here; URL tokens too). */
  query: Record<string, string>;
  body: Uint8Array;
  /** Milliseconds since epoch at receipt; timestamp windows are checked against it. */
  now: number;
}

export type AuthConfig =
  /** Standard Webhooks: webhook-id / webhook-timestamp / webhook-signature (v1,<b64>). */
  | { scheme: "standard-webhooks"; secrets: string[]; toleranceSeconds: number }
  /** Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, body)>. */
  | { scheme: "typeform"; secrets: string[] }
  /** GitHub style X-Hub-Signature-256: sha256=<hex>. */
  | { scheme: "github"; secrets: string[] }
  /** Stripe style <header>: t=<unix>,v1=<hex HMAC of "t.body">. */
  | { scheme: "stripe"; secrets: string[]; toleranceSeconds: number; header: string }
  /**
   * Shared token (HeyFlow has no signatures): accepted in `header`, as the password
   * of HTTP Basic (user `basicUser`, any user when unset), or as query param `queryParam`.
   */
  | { scheme: "token"; tokens: string[]; header: string; basicUser?: string; queryParam?: string };

export type DateOrder = "DMY" | "MDY" | "YMD";

export type { CanonicalField, PatientRecord } from "../patient-fields.ts";

/** What a form's field is mapped to: a canonical field, or "ignore" (not patient data). */
export type MappingTarget = CanonicalField | "ignore";

export interface FormMapping {
  /** label, field id or field ref → target. Explicit mappings win over heuristics. */
  fields: Record<string, MappingTarget>;
}

export interface SourceConfig {
  id: string;
  adapter: AdapterType;
  auth: AuthConfig;
  /** Accepted media types (without parameters), e.g. "application/json". */
  contentTypes: string[];
  maxBodyBytes: number;
  /** Default region for phone numbers written without a country code. */
  phoneRegion: CountryCode;
  dateOrder: DateOrder;
  /** Per form id. */
  forms: Record<string, FormMapping>;
  /** CIDRs or addresses allowed to post; empty = anyone. */
  allowedIps: string[];
  /** Requests per second per source (token bucket); 0 = unlimited. */
  rateLimitPerSecond: number;
}

/** An error an adapter raises; `code` goes into the JSON error body, `status` is the HTTP status. */
export class AdapterError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: 400 | 401 | 403 | 415 = 400,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "AdapterError";
  }
}

export type AuthResult =
  | { ok: true /** provider's event id when the auth scheme carries one (webhook-id) */; eventId?: string }
  | { ok: false; code: string; message: string };

export interface Answer {
  label: string;
  value: unknown;
  fieldId?: string;
  /** A second stable key: Typeform's field `ref`, HeyFlow's `variable`. Mappings may name it. */
  ref?: string;
  /**
   * The provider's answer type ("email", "phone_number", "choices", ...). Two values are
   * set by the adapters themselves: "hidden" (Typeform hidden fields, pre-filled by the
   * form owner, so trusted less) and "calculated" (scores).
   */
  fieldType?: string;
  /** For an answer flattened from nested objects: its keys from the top ("Kontakt", "E-Mail"); `label` joins them with dots. */
  path?: readonly string[];
}

export interface CanonicalEvent {
  source: string;
  formId: string | null;
  /** The provider's own id for this submission, when it sends one. */
  providerEventId: string | null;
  /** ISO timestamp. */
  submittedAt: string;
  answers: Answer[];
  patient: PatientRecord;
  /** Confidence 0..1 per mapped canonical field. */
  confidence: Partial<Record<CanonicalField, number>>;
  /** Which answer filled each field and how (for the preview endpoint and debugging). */
  provenance?: Partial<Record<CanonicalField, FieldProvenance>>;
}

/**
 * How a canonical field was found: explicit mapping, label synonym, provider type, value shape,
 * or derived from another field.
 */
export type MatchMethod = "explicit" | "label" | "label-contains" | "field-type" | "value-shape" | "derived";

export interface FieldProvenance {
  /** Label of the answer the value came from (for derived fields: of the parent answer). */
  label: string;
  method: MatchMethod;
  /**
   * The value failed validation (a phone number the metadata does not know, an impossible
   * date) and is kept as sent rather than dropped; its confidence is below 0.5.
   */
  keptAsSent?: true;
}

type AuthScheme = AuthConfig["scheme"];

/**
 * What a source type accepts, declared by its adapter: the sources file is checked against
 * it at load (a source configured with a scheme its adapter cannot verify does not start),
 * and the ingress reads contentTypes/acceptsGet from it.
 */
export interface AdapterSpec {
  /** The auth schemes a source of this type may configure. */
  readonly authSchemes: readonly AuthScheme[];
  /** Media types accepted when the source configures none. */
  readonly contentTypes: readonly string[];
  /** Whether the sender may deliver with GET (the answers in the query string). */
  readonly acceptsGet: boolean;
}

export interface SourceAdapter extends AdapterSpec {
  /** Verify the sender over the raw bytes, before anything is parsed. */
  authenticate(req: RawRequest, source: SourceConfig): AuthResult;
  /**
   * The provider's id for this delivery, used for dedup (Nats-Msg-Id). Cheap: may parse
   * the body. Returns null when the provider sends none (the ingress then hashes the body).
   * Throws AdapterError(400, "unparseable_body") when the body cannot be parsed at all.
   */
  providerEventId(req: RawRequest, auth: AuthResult & { ok: true }): string | null;
  /** Full parse + field mapping. Throws AdapterError when the payload cannot be understood. */
  parse(req: RawRequest, source: SourceConfig): CanonicalEvent;
}
