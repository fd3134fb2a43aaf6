// Every canonical field of the table (shared/patient-fields.ts) end to end: a signed webhook
// whose answers are labelled with each field's first label reaches the patient through the
// mapper, the projector and the API, and the OpenAPI document describes it. A field added to
// the table (plus its migration) is covered here without touching this test.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { PATIENT_FIELDS, type ValueKind } from "../../shared/patient-fields.ts";
import { ADMIN, type Cluster, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";

// A value as a person would type it for each kind of field, and what the API then returns.
const SAMPLE: Record<ValueKind, { typed: unknown; stored: unknown }> = {
  name: { typed: "Ada", stored: "Ada" },
  text: { typed: "Deutsch", stored: "Deutsch" },
  email: { typed: "Every.Field@Example.com", stored: "every.field@example.com" },
  phone: { typed: "030 1234567", stored: "+49301234567" },
  date: { typed: "17.05.1990", stored: "1990-05-17" },
  gender: { typed: "weiblich", stored: "female" },
  street: { typed: "Musterstraße 12", stored: "Musterstraße 12" },
  postalCode: { typed: "10115", stored: "10115" },
  country: { typed: "Deutschland", stored: "DE" },
  consent: { typed: "Ja", stored: true },
};
// Name-like fields get values of their own, so a name the mapper completes stays consistent.
const OWN: Record<string, { typed: string; stored: string }> = {
  firstName: { typed: "Ada", stored: "Ada" },
  lastName: { typed: "Lovelace", stored: "Lovelace" },
  fullName: { typed: "Ada Lovelace", stored: "Ada Lovelace" },
  city: { typed: "Berlin", stored: "Berlin" },
};
const sample = (f: (typeof PATIENT_FIELDS)[number]): { typed: unknown; stored: unknown } =>
  OWN[f.name] ?? SAMPLE[f.kind];

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
});
afterAll(() => cluster?.stop());

test("each field, answered under its label, comes back from the API under its canonical name", async () => {
  const { ingress, dashboard } = cluster.services;
  const data = Object.fromEntries(PATIENT_FIELDS.map((f) => [f.labels[0]!, sample(f)!.typed]));
  const res = await postWebhook(
    ingress!.url,
    "generic",
    signGeneric({ type: "form.submitted", data }, "msg_every_field"),
  );
  expect(res.status).toBe(200);
  const patient = await waitFor("the patient", async () => {
    const r = await fetch(`${dashboard!.url}/api/v1/patients?q=every.field@example.com`, { headers: ADMIN });
    const body = (await r.json()) as { items: Record<string, unknown>[] };
    return body.items[0];
  });
  const got = Object.fromEntries(PATIENT_FIELDS.map((f) => [f.name, patient[f.name]]));
  expect(got).toEqual(Object.fromEntries(PATIENT_FIELDS.map((f) => [f.name, sample(f)!.stored])));
});

test("the OpenAPI patient schema has every field, typed from the table", async () => {
  const doc = (await (await fetch(`${cluster.services.dashboard!.url}/openapi.json`)).json()) as {
    components: {
      schemas: { Patient: { properties: Record<string, { type: string[]; format?: string; enum?: unknown[] }> } };
    };
  };
  const props = doc.components.schemas.Patient.properties;
  for (const f of PATIENT_FIELDS) {
    expect([f.name, props[f.name]?.type]).toEqual([f.name, [f.type === "boolean" ? "boolean" : "string", "null"]]);
    if (f.type === "date") expect(props[f.name]?.format).toBe("date");
  }
});
