// The public dev credentials, declared once. They are printed in the README, written inline
// in ops/dev/sources.yaml and shown by ./ops/up, so anyone can read them: they apply only
// when HOOKLINE_ENV=development asks for the dev defaults, and HOOKLINE_ENV=production
// refuses them wherever they come from (test/unit/dev-credentials.test.ts checks this list
// against ops/dev/sources.yaml).
import { STANDARD_SECRET_PREFIX } from "./crypto/standard-webhooks.ts";

export const DEV_CREDENTIALS = {
  /** DASHBOARD_API_TOKENS dev default (role admin). */
  dashboardAdminToken: "dev-admin-token",
  /** Source heyflow: header X-Webhook-Token or HTTP Basic password. */
  heyflowToken: "dev-heyflow-token",
  /** Source typeform: Typeform-Signature secret. */
  typeformSecret: "dev-typeform-secret",
  /** Sources google-forms and generic: Standard Webhooks secret. */
  standardWebhooksSecret: "whsec_aG9va2xpbmUtZGV2LXNlY3JldC0zMi1ieXRlcy1vayE=",
} as const;

/** DATABASE_URL's dev default: ./ops/up's local cluster, user and password both "hookline". */
export const DEV_DATABASE_URL = "postgres://hookline:hookline@127.0.0.1:5432/hookline";
const DEV_DATABASE_PASSWORD = new URL(DEV_DATABASE_URL).password;

/** The sources file HOOKLINE_ENV=development defaults to (relative to the checkout). */
export const DEV_SOURCES_FILE = "ops/dev/sources.yaml";

/**
 * The keyrings HOOKLINE_ENV=development reads when none is given (relative to the checkout):
 * generated once per checkout by ./ops/up, random and never published. Their key ids start
 * with DEV_KEY_ID_PREFIX, which HOOKLINE_ENV=production refuses, so a dev keyring copied
 * into production is caught.
 */
export const DEV_KEYRING_FILES = { data: ".data/dev-keys", blindIndex: ".data/dev-blind-index-key" } as const;
export const DEV_KEY_ID_PREFIX = "dev-";

// Searched as parts of a value: "dev-admin-token=admin" holds one, and the Standard Webhooks
// key is the same key with or without its prefix.
const PUBLIC_PARTS = Object.values(DEV_CREDENTIALS).map((c) =>
  c.startsWith(STANDARD_SECRET_PREFIX) ? c.slice(STANDARD_SECRET_PREFIX.length) : c,
);

/** A database URL logging in with the dev password (whatever its host). */
function usesDevDatabasePassword(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === "postgres:" || url.protocol === "postgresql:") &&
      decodeURIComponent(url.password) === DEV_DATABASE_PASSWORD
    );
  } catch {
    return false;
  }
}

/**
 * Why `value` is refused, when HOOKLINE_ENV is production and it holds a public dev
 * credential; undefined otherwise. The one rule for config variables and sources-file secrets.
 */
export function devCredentialRefusal(value: string, hooklineEnv: string | undefined): string | undefined {
  if (hooklineEnv !== "production" || !containsDevCredential(value)) return undefined;
  return "a public dev credential (published in the README); not allowed when HOOKLINE_ENV=production";
}

/** True when `value` holds any public dev credential. */
function containsDevCredential(value: string): boolean {
  return PUBLIC_PARTS.some((part) => value.includes(part)) || usesDevDatabasePassword(value);
}
