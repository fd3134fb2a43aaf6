// services/projector/erased.ts: which events belong to a patient erased after they arrived
// (migration 022's tombstones), decided per client, and under every blind-index key.
import { expect, test } from "bun:test";
import type { DecodedEvent } from "../../services/projector/decode.ts";
import { emailLookups, erasedAfterReceipt, type Tombstone } from "../../services/projector/erased.ts";
import { blindIndex } from "../../shared/crypto/blind-index.ts";
import { createKeyring, newKeyText, parseKeyring } from "../../shared/crypto/keyring.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { TEST_KEYS } from "../keys.ts";

const at = (iso: string) => new Date(iso);
const event = (id: string, source: string, email: string | undefined, receivedAt: string) =>
  ({ eventId: id, receivedAt: at(receivedAt), event: { source, patient: { email } } }) as unknown as DecodedEvent;
const tombstone = (client: string, email: string, erasedAt: string, keys: Keys = TEST_KEYS): Tombstone => ({
  client_key: client,
  email_bidx: blindIndex(keys.blindIndex, "email", email)!,
  erased_at: at(erasedAt),
});
// Source "clinic" belongs to client 7; "generic" to none (client key 0).
const clients = new Map([["clinic", "7"]]);

test("an event of the erased email at the erased client, received before the erasure, is erased; none else is", () => {
  const events = [
    event("before", "generic", "Ana@Example.com", "2026-11-01T10:00:00Z"),
    event("after", "generic", "ana@example.com", "2026-11-01T12:00:00Z"),
    event("other-client", "clinic", "ana@example.com", "2026-11-01T10:00:00Z"),
    event("other-email", "generic", "bo@example.com", "2026-11-01T10:00:00Z"),
    event("no-email", "generic", undefined, "2026-11-01T10:00:00Z"),
  ];
  const lookups = emailLookups(TEST_KEYS, events);
  // No lookup for an event without an email (nothing to ask the database).
  expect(lookups.map((l) => l.event.eventId)).toEqual(["before", "after", "other-client", "other-email"]);
  const erased = erasedAfterReceipt([tombstone("0", "ana@example.com", "2026-11-01T11:00:00Z")], lookups, clients);
  expect([...erased]).toEqual(["before"]);
  expect(erasedAfterReceipt([], lookups, clients).size).toBe(0);
});

test("a tombstone left under the previous blind-index key still matches during a rebuild", () => {
  const rotated: Keys = {
    data: TEST_KEYS.data,
    blindIndex: createKeyring([parseKeyring(newKeyText("index-next"), "test").current, ...TEST_KEYS.blindIndex.keys]),
  };
  const lookups = emailLookups(rotated, [event("e", "clinic", "cy@example.com", "2026-11-01T10:00:00Z")]);
  expect(lookups).toHaveLength(2);
  // Written under TEST_KEYS' key, now the previous one.
  const old = tombstone("7", "cy@example.com", "2026-11-02T00:00:00Z", TEST_KEYS);
  expect([...erasedAfterReceipt([old], lookups, clients)]).toEqual(["e"]);
});
