// How old the current keys are, for /health and `hookline keys status`: keys are rotated at
// least every KEY_AGE_WARNING_DAYS days (README "Security"), so a current key older than
// that is reported with a warning (readiness is not affected: an old key is no outage).
import type { Logger } from "../logger.ts";
import { type Keyring, keyAgeDays } from "./keyring.ts";
import type { Keys } from "./keys.ts";

const KEY_AGE_WARNING_DAYS = 90;

export interface KeyAge {
  /** Id of the current key. */
  current: string;
  ageDays: number;
  /** Keys in the keyring (more than one: a rotation is under way or the old key was not yet removed). */
  keys: number;
  warning?: string;
}

function ageOf(ring: Keyring, now: Date): KeyAge {
  const ageDays = keyAgeDays(ring.current, now);
  return {
    current: ring.current.id,
    ageDays,
    keys: ring.keys.length,
    ...(ageDays > KEY_AGE_WARNING_DAYS
      ? { warning: `older than ${KEY_AGE_WARNING_DAYS} days: rotate it (hookline keys new, then keys rotate)` }
      : {}),
  };
}

/** The age of each keyring's current key. */
export function keyAges(keys: Keys, now = new Date()): { data: KeyAge; blindIndex: KeyAge } {
  return { data: ageOf(keys.data, now), blindIndex: ageOf(keys.blindIndex, now) };
}

/** Logs a warning for each keyring whose current key is past its age (at start; /health says it all along). */
export function warnAboutKeyAge(log: Pick<Logger, "warn">, keys: Keys, now = new Date()): void {
  for (const [keyring, age] of Object.entries(keyAges(keys, now)))
    if (age.warning) log.warn({ keyring, key: age.current, ageDays: age.ageDays }, `encryption key ${age.warning}`);
}
