// What the projector and the dashboard put into the audit trail (services/*/audit.ts,
// shared/audit/entities.ts): receipts with outcomes and no payload, patient changes as
// changed fields and hashes only.
import { expect, test } from "bun:test";
import { conflictResolved, patientRead } from "../../../services/dashboard/audit.ts";
import { batchEntries, deadLetterReceipt } from "../../../services/projector/audit.ts";
import type { DecodedEvent } from "../../../services/projector/decode.ts";
import { entityHash } from "../../../shared/audit/canonical.ts";
import { changedFields, patientState } from "../../../shared/audit/entities.ts";
import type { LockedPatient } from "../../../shared/db/patients.ts";

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

test("one receipt a message in message order: projected once, a repeat or a seen event a duplicate", () => {
  const events = [event("e2", 11), event("e1", 10), event("e2", 12), event("e3", 13)];
  const entries = batchEntries(events, {
    admitted: new Set(["e1", "e2"]),
    patientIdByEvent: new Map([
      ["e1", "42"],
      ["e2", "42"],
    ]),
    held: new Set(["e2"]),
    patients: [],
  });
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
    details: { source: "generic", patientId: "42", conflict: true },
  });
  expect(entries[1]!.details?.conflict).toBeUndefined();
  expect(entries[2]!.details?.patientId).toBeUndefined();
});

test("patients written: create (no before) and update (changed fields), ordered by id, no values kept", () => {
  const before = patient();
  const after = {
    ...before,
    eventsCount: 2,
    state: { ...before.state, values: { ...before.state.values, phone: "+4930999" } },
  };
  const created = { ...patient(), id: "7" };
  const entries = batchEntries([], {
    admitted: new Set(),
    patientIdByEvent: new Map(),
    held: new Set(),
    patients: [
      {
        id: "42",
        before: patientState(before),
        after: patientState(after),
        changedFields: changedFields(patientState(before), patientState(after)),
      },
      { id: "7", before: null, after: patientState(created), changedFields: ["id", "email"] },
    ],
  });
  expect(entries.map((e) => [e.action, e.entityId])).toEqual([
    ["patient.create", "7"],
    ["patient.update", "42"],
  ]);
  expect(entries[1]!.changedFields).toEqual(["phone", "eventsCount"]);
  expect(entries[0]!.before).toBeUndefined();
});

test("changedFields: the top-level fields whose values differ, new and removed ones too", () => {
  expect(changedFields({ a: 1, b: { x: 1, y: 2 }, c: null }, { a: 1, b: { y: 2, x: 1 }, c: "now", d: 0 })).toEqual([
    "c",
    "d",
  ]);
  expect(changedFields({ gone: 1 }, {})).toEqual(["gone"]);
});

test("patientState hashes alike whatever order values and answers were built in", () => {
  const a = patient();
  const b = patient();
  b.state.answers = { Strasse: "Hauptstr 1", Vorname: "Ada" };
  expect(entityHash(patientState(a)).equals(entityHash(patientState(b)))).toBe(true);
  b.state.values = { ...b.state.values, phone: "+49302222222" };
  expect(entityHash(patientState(a)).equals(entityHash(patientState(b)))).toBe(false);
});

test("dashboard entries: read with the caller, conflict accept with the patient it changed", () => {
  const principal = { id: "token:7", name: "Front desk", role: "admin" as const };
  expect(patientRead(principal, "42")).toMatchObject({
    action: "patient.read",
    entityType: "patient",
    entityId: "42",
    details: { role: "admin" },
  });
  const before = patient();
  const after = {
    ...before,
    state: { ...before.state, values: { ...before.state.values, dateOfBirth: "1991-02-02" } },
  };
  const entries = conflictResolved(
    principal,
    "accept",
    { before: { id: "5", patientId: "42", status: "open" }, after: { id: "5", patientId: "42", status: "accepted" } },
    { before, after },
  );
  expect(entries.map((e) => [e.action, e.entityId, e.changedFields])).toEqual([
    ["conflict.accept", "5", ["status"]],
    ["patient.update", "42", ["dateOfBirth"]],
  ]);
  for (const e of entries) expect(e.actor).toBe(patientRead(principal, "42").actor);
});

test("no entry's stored parts (all but the states, which are only hashed) hold patient data", () => {
  const entries = [
    ...batchEntries([event("e1", 1)], {
      admitted: new Set(["e1"]),
      patientIdByEvent: new Map([["e1", "42"]]),
      held: new Set(),
      patients: [{ id: "42", before: null, after: patientState(patient()), changedFields: ["firstName"] }],
    }),
    deadLetterReceipt({ source: "generic", eventId: "e9", streamSeq: 9 }, "parse_failed"),
  ];
  const stored = JSON.stringify(entries.map(({ before: _b, after: _a, ...kept }) => kept));
  for (const bit of SECRET_BITS) expect(stored).not.toContain(bit);
});
