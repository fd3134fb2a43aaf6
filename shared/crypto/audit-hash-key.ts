// The key of the audit trail's entity hashes (shared/audit/canonical.ts entityHash), derived with
// HKDF-SHA256 from the current blind-index key (HOOKLINE_BLIND_INDEX_KEY) under a fixed label:
// no further secret to provision, and still a key of its own (a hash in the trail cannot be
// compared with a blind index, nor the blind-index key learnt from it).
//
// Which key a hash used: the blind-index key current when the entry was written, whose id the
// entry names in details.hashKey. The trail is append-only, so hashes are never redone: after a
// blind-index rotation a patient's first "before" under the new key differs from its last
// "after" under the old one. Compare hashes only between entries with the same hashKey. Once a
// key has left the keyring, no one can recompute the hashes made with it (for an erased
// patient, that is the point).
import { hkdfSync } from "node:crypto";
import type { EntityHashKey } from "../audit/canonical.ts";
import type { Keyring } from "./keyring.ts";

/** Fixed: changing it changes every hash written from then on. */
const LABEL = "hookline audit entity hash v1";

/** The entity-hash key under `blindIndex`'s current key (a few microseconds: derived where needed). */
export function auditHashKey(blindIndex: Keyring): EntityHashKey {
  const { id, key } = blindIndex.current;
  return { id, key: Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), LABEL, 32)) };
}
