// What the projector and the dashboard put into the audit trail (services/*/audit.ts,
// shared/audit/entities.ts): receipts with outcomes and no payload, changes to patients as
// changed fields and hashes only.
import { expect, test } from "bun:test";
import { conflictResolved, patientRead } from "../../../services/dashboard/audit.ts";
import { batchEntries, deadLetterReceipt } from "../../../services/projector/audit.ts";
import type { DecodedEvent } from "../../../services/projector/decode.ts";
import { entityHash } from "../../../shared/audit/canonical.ts";
import { changedFields, patientState } from "../../../shared/audit/entities.ts";
import type { LockedPatient } from "../../../shared/db/patients.ts";

const KEY = { id: "bidx-test", key: Buffer.alloc(32, 7) };
const SECRET_BITS = ["Ada", "ada@example.com", "1990-01-01", "+49301111111", "Hauptstr"];

function event(id: string, seq: number): DecodedEvent {
  return {
    eventId: id,
    receivedAt: new Date("2026-11-29T10:00:00Z"),
    streamSeq: seq,
    contentType: "application/json",
    body: JSON.stringify({ Vorname: "Ada", Email: "ada@example.com" }),
    traceId: null,
    event: {
      source: "generic",
      formId: "f1",
      providerEventId: id,
      submittedAt: "2026-11-29T09:59:00Z",
      answers: [{ label: "Vorname", value: "Ada" }],
      patient: { firstName: "Ada", email: "ada@example.com", dateOfBirth: "1990-01-01" },
      confidence: {},
    },
  } as DecodedEvent;
}

function patient(over: Partial<LockedPatient["state"]["values"]> = {}, eventsCount = 1): LockedPatient {
  return {
    id: "42",
    email: "ada@example.com",
    eventsCount,
    state: {
      values: { firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1990-01-01", phone: "+49301111111", ...over },
      answers: { Vorname: "Ada", Strasse: "Hauptstr 1" },
      source: "generic",
      formId: "f1",
      lastEventId: "e1",
      submittedAt: new Date("2026-11-29T09:59:00Z"),
    },
  } as LockedPatient;
}

const hexOf = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString("hex") : null);
const admin = { id: "token:7", name: "Front desk", role: "admin" as const };

test("one receipt a message in message order: projected once, a repeat or a seen event a duplicate", () => {
  const p = patientState(patient());
  const events = [event("e2", 11), event("e1", 10), event("e2", 12), event("e3", 13)];
  const entries = batchEntries(
    events,
    {
      admitted: new Set(["e1", "e2"]),
      effects: new Map([
        ["e1", { patientId: "42", before: null, after: p, conflict: false }],
        ["e2", { patientId: "42", before: p, after: { ...p, eventsCount: 2 }, conflict: true }],
      ]),
    },
    KEY,
  );
  expect(entries.map((e) => [e.entityId, e.details?.outcome, e.details?.streamSeq])).toEqual([
    ["e2", "projected", 11],
    ["e1", "projected", 10],
    ["e2", "duplicate", 12],
    ["e3", "duplicate", 13],
  ]);
  expect(entries[0]).toMatchObject({
    actor: "projector",
    action: "webhook.receive",
    entityType: "webhook_event",
    changedFields: ["eventsCount"],
    details: { source: "generic", patientId: "42", conflict: true, hashKey: "bidx-test" },
  });
  expect(entries[1]).toMatchObject({ details: { patientId: "42", created: true } });
  expect(entries[1]!.details?.conflict).toBeUndefined();
  expect(entries[2]!.details?.patientId).toBeUndefined();
  expect(entries[2]!.changedFields).toEqual([]);
  expect(entries[2]!.afterHash).toBeNull();
});

test("a receipt carries what its submission did to the patient: fields changed, hashes chaining the states", () => {
  const s0 = patientState(patient());
  const s1 = patientState(patient({ phone: "+4930999" }, 2));
  const s2 = patientState(patient({ phone: "+4930999", city: "Berlin" } as never, 3));
  const entries = batchEntries(
    [event("a", 1), event("b", 2), event("c", 3)],
    {
      admitted: new Set(["a", "b", "c"]),
      effects: new Map([
        ["a", { patientId: "42", before: null, after: s0, conflict: false }],
        ["b", { patientId: "42", before: s0, after: s1, conflict: false }],
        ["c", { patientId: "42", before: s1, after: s2, conflict: false }],
      ]),
    },
    KEY,
  );
  const [a, b, c] = entries;
  expect(a!.beforeHash).toBeNull();
  expect(a!.changedFields).toContain("firstName");
  expect(b!.changedFields).toEqual(["phone", "eventsCount"]);
  expect(c!.changedFields).toEqual(["city", "eventsCount"]);
  expect(hexOf(a!.afterHash)).toBe(hexOf(entityHash(KEY, s0)));
  expect(hexOf(b!.beforeHash)).toBe(hexOf(a!.afterHash!));
  expect(hexOf(c!.beforeHash)).toBe(hexOf(b!.afterHash!));
  expect(hexOf(c!.afterHash)).toBe(hexOf(entityHash(KEY, s2)));
});

test("changedFields: the top-level fields whose values differ, new and removed ones too", () => {
  expect(changedFields({ a: 1, b: { x: 1, y: 2 }, c: null }, { a: 1, b: { y: 2, x: 1 }, c: "now", d: 0 })).toEqual([
    "c",
    "d",
  ]);
  expect(changedFields({ gone: 1, t: new Date(5) }, { t: new Date(5), u: undefined })).toEqual(["gone"]);
  expect(changedFields({ t: new Date(5) }, { t: new Date(6) })).toEqual(["t"]);
});

test("patientState hashes alike whatever order values and answers were built in", () => {
  const a = patient();
  const b = patient();
  b.state.answers = { Strasse: "Hauptstr 1", Vorname: "Ada" };
  expect(entityHash(KEY, patientState(a)).equals(entityHash(KEY, patientState(b)))).toBe(true);
  b.state.values = { ...b.state.values, phone: "+49302222222" };
  expect(entityHash(KEY, patientState(a)).equals(entityHash(KEY, patientState(b)))).toBe(false);
});

test("dashboard entries: the caller's id as actor, its name and role in details; accept with the patient it changed", () => {
  expect(patientRead(admin, "42")).toEqual({
    actor: "token:7",
    action: "patient.read",
    entityType: "patient",
    entityId: "42",
    details: { actorName: "Front desk", role: "admin" },
  });
  const before = patient();
  const after = {
    ...before,
    state: { ...before.state, values: { ...before.state.values, dateOfBirth: "1991-02-02" } },
  };
  const conflict = {
    before: { id: "5", patientId: "42", status: "open" },
    after: { id: "5", patientId: "42", status: "accepted" },
  };
  const entries = conflictResolved(admin, "accept", KEY, conflict, { before, after });
  expect(entries.map((e) => [e.actor, e.action, e.entityId, e.changedFields])).toEqual([
    ["token:7", "conflict.accept", "5", ["status"]],
    ["token:7", "patient.update", "42", ["dateOfBirth"]],
  ]);
  expect(hexOf(entries[1]!.beforeHash)).toBe(hexOf(entityHash(KEY, patientState(before))));
  expect(hexOf(entries[1]!.afterHash)).toBe(hexOf(entityHash(KEY, patientState(after))));
  expect(conflictResolved(admin, "dismiss", KEY, conflict)).toHaveLength(1);
});

test("no entry holds patient data, only hashes of it", () => {
  const entries = [
    ...batchEntries(
      [event("e1", 1)],
      {
        admitted: new Set(["e1"]),
        effects: new Map([["e1", { patientId: "42", before: null, after: patientState(patient()), conflict: false }]]),
      },
      KEY,
    ),
    deadLetterReceipt({ source: "generic", eventId: "e9", streamSeq: 9 }, "parse_failed"),
    ...conflictResolved(
      admin,
      "accept",
      KEY,
      { before: { id: "5" }, after: { id: "5" } },
      { before: patient(), after: patient() },
    ),
  ];
  const stored = JSON.stringify(entries);
  for (const bit of SECRET_BITS) expect(stored).not.toContain(bit);
});
