// The two keyrings a service needs to read and write patient data: data keys (envelope.ts)
// and blind-index keys (blind-index.ts), loaded from the variables in keyringConfig.
import { ConfigError } from "../config.ts";
import { DEV_KEY_ID_PREFIX, DEV_KEYRING_FILES } from "../dev-credentials.ts";
import { type Keyring, KeyringError, loadKeyring } from "./keyring.ts";

export interface Keys {
  /** Seal and open patient data. */
  data: Keyring;
  /** Blind indexes of email and phone. */
  blindIndex: Keyring;
}

export interface KeyringSettings {
  hooklineEnv: string | undefined;
  dataKeys: string;
  dataKeysFile: string;
  blindIndexKeys: string;
  blindIndexKeysFile: string;
}

/**
 * Reads both keyrings. Throws one ConfigError listing every problem (naming variables and
 * files, never keys). In development, a keyring given neither way is read from ./ops/up's dev
 * files; in production, dev keys are refused, and so is a blind-index key that is also a data key.
 */
export function loadKeys(c: KeyringSettings): Keys {
  const dev = c.hooklineEnv === "development";
  const problems: string[] = [];
  const load = (variable: string, inline: string, file: string, devFile: string) => {
    try {
      const ring = loadKeyring({ variable, inline, file, devFile: dev ? devFile : undefined });
      const devKey = ring.keys.find((k) => k.id.startsWith(DEV_KEY_ID_PREFIX));
      if (c.hooklineEnv === "production" && devKey)
        problems.push(
          `${variable}: key "${devKey.id}" is a dev key (ids starting "${DEV_KEY_ID_PREFIX}" are made by ./ops/up); not allowed when HOOKLINE_ENV=production`,
        );
      return ring;
    } catch (error) {
      if (!(error instanceof KeyringError)) throw error;
      problems.push(error.message);
      return undefined;
    }
  };
  const data = load("HOOKLINE_KEYS", c.dataKeys, c.dataKeysFile, DEV_KEYRING_FILES.data);
  const blindIndex = load(
    "HOOKLINE_BLIND_INDEX_KEY",
    c.blindIndexKeys,
    c.blindIndexKeysFile,
    DEV_KEYRING_FILES.blindIndex,
  );
  if (data && blindIndex) {
    const dataBytes = new Set(data.keys.map((k) => k.key.toString("hex")));
    const shared = blindIndex.keys.find((k) => dataBytes.has(k.key.toString("hex")));
    if (shared)
      problems.push(`HOOKLINE_BLIND_INDEX_KEY: key "${shared.id}" is also a data key; the two must be separate keys`);
  }
  if (problems.length || !data || !blindIndex) throw new ConfigError(problems);
  return { data, blindIndex };
}
