// The audit trail's entity hashes are keyed (shared/crypto/audit-hash-key.ts): the key is
// derived from the current blind-index key, names that key, and is not that key itself.
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { canonicalJson, entityHash } from "../../../shared/audit/canonical.ts";
import { patientState } from "../../../shared/audit/entities.ts";
import { auditHashKey } from "../../../shared/crypto/audit-hash-key.ts";
import { parseKeyring } from "../../../shared/crypto/keyring.ts";
import type { LockedPatient } from "../../../shared/db/patients.ts";

const ring = (id: string, byte: number) =>
  parseKeyring(`${id}:${Buffer.alloc(32, byte).toString("base64")}:2026-11-01`, "test");

const erased: LockedPatient = {
  id: "7",
  email: "ada@example.com",
  eventsCount: 1,
  state: {
    values: { firstName: "Ada", lastName: "Lovelace", phone: "+49301111111" } as LockedPatient["state"]["values"],
    answers: {},
    source: "generic",
    formId: null,
    lastEventId: "e1",
    submittedAt: new Date("2026-11-29T10:00:00Z"),
  },
};

test("derived from the current blind-index key under a fixed label: stable, named by that key's id, not the key itself", () => {
  const a = auditHashKey(ring("bidx-1", 1));
  expect(a.id).toBe("bidx-1");
  expect(a.key.length).toBe(32);
  expect(Buffer.from(a.key).equals(Buffer.alloc(32, 1))).toBe(false);
  expect(Buffer.from(auditHashKey(ring("bidx-1", 1)).key).equals(Buffer.from(a.key))).toBe(true);
  // A rotated keyring (new key first, the old one kept to read) hashes under the new one.
  const rotated = parseKeyring(
    `bidx-2:${Buffer.alloc(32, 2).toString("base64")}:2026-12-01,bidx-1:${Buffer.alloc(32, 1).toString("base64")}:2026-11-01`,
    "test",
  );
  expect(auditHashKey(rotated).id).toBe("bidx-2");
});

test("the same patient state under two keyrings gives two hashes, neither the SHA-256 of its canonical JSON", () => {
  const state = patientState(erased);
  const one = entityHash(auditHashKey(ring("bidx-1", 1)), state);
  const two = entityHash(auditHashKey(ring("bidx-2", 2)), state);
  expect(one.equals(two)).toBe(false);
  // The dictionary attack on an export: hash the guessed state, compare. It does not match.
  const guess = createHash("sha256")
    .update(canonicalJson(patientState(erased)))
    .digest();
  expect(one.equals(guess)).toBe(false);
  expect(two.equals(guess)).toBe(false);
});
