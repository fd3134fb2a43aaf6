// End to end through real processes: signed webhooks in, retries deduplicated, exactly
// one event and the right patient out, visible through the dashboard API.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Sql } from "../../shared/db/client.ts";
import { patientByEmail } from "../keys.ts";
import { ADMIN, type Cluster, postWebhook, type Service, signGeneric, startCluster, waitFor } from "./harness.ts";

let cluster: Cluster;
let sql: Sql;
let ingress: Service;
let projector: Service;
let dashboard: Service;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  ({ sql } = cluster);
  ({ ingress, projector, dashboard } = cluster.services as Required<Cluster["services"]>);
});
afterAll(() => cluster?.stop());

const N = 40;
const person = (i: number) => ({
  type: "form.submitted",
  data: { "First name": `Ada${i}`, "Last name": "Lovelace", "E-Mail": `Ada.${i}@Example.COM`, Telefon: "0171 1234567" },
});

describe("ingest → JetStream → projector → Postgres → API", () => {
  test("N signed webhooks plus retries of the same ids give exactly N events and patients", async () => {
    const first = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        postWebhook(ingress.url, "generic", signGeneric(person(i), `msg_pipeline_${i}`)),
      ),
    );
    const firstBodies = await Promise.all(first.map((r) => r.json()));
    expect(first.map((r) => r.status)).toEqual(Array(N).fill(200));
    expect(
      firstBodies.every((b) => b.received === true && b.duplicate === false && /^evt_[0-9a-f]{32}$/.test(b.eventId)),
    ).toBe(true);
    expect(new Set(firstBodies.map((b) => b.eventId)).size).toBe(N);

    // Provider retries: same webhook-id, re-signed with a new timestamp, as a sender would.
    const retries = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        postWebhook(
          ingress.url,
          "generic",
          signGeneric(person(i), `msg_pipeline_${i}`, Math.floor(Date.now() / 1000) + 1),
        ),
      ),
    );
    const retryBodies = await Promise.all(retries.map((r) => r.json()));
    expect(retries.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(retryBodies.map((b) => b.duplicate)).toEqual(Array(10).fill(true));
    expect(retryBodies.map((b) => b.eventId)).toEqual(firstBodies.slice(0, 10).map((b) => b.eventId));

    await waitFor(
      "all events projected",
      async () => (await sql`select count(*)::int as n from webhook_events`)[0]!.n === N,
    );
    const [counts] = await sql`select (select count(*)::int from webhook_events) as events,
      (select count(*)::int from webhook_event_ids) as ids, (select count(*)::int from patients) as patients`;
    expect(counts).toEqual({ events: N, ids: N, patients: N });
    const p = await patientByEmail(sql, "ada.7@example.com");
    const ada = p && { first_name: p.first_name, last_name: p.last_name, email: p.email, phone: p.phone };
    expect(ada).toEqual({
      first_name: "Ada7",
      last_name: "Lovelace",
      email: "ada.7@example.com",
      phone: "+491711234567",
    });
  });

  test("the dashboard API finds a patient by exact email, case-insensitively, with canonical fields", async () => {
    const res = await fetch(`${dashboard.url}/api/v1/patients?q=${encodeURIComponent("ADA.3@example.com")}`, {
      headers: ADMIN,
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({
      firstName: "Ada3",
      lastName: "Lovelace",
      fullName: "Ada3 Lovelace",
      email: "ada.3@example.com",
      source: "generic",
    });

    const one = await fetch(`${dashboard.url}/api/v1/patients/${body.items[0].id}`, { headers: ADMIN });
    expect((await one.json()).email).toBe("ada.3@example.com");
  });

  test("name search matches parts of names, and treats % and _ literally", async () => {
    const byName = await (await fetch(`${dashboard.url}/api/v1/patients?q=ada1&limit=500`, { headers: ADMIN })).json();
    // Ada1 and Ada10..Ada19
    expect(byName.items.map((p: { firstName: string }) => p.firstName).sort()).toEqual(
      ["Ada1", ...Array.from({ length: 10 }, (_, i) => `Ada1${i}`)].sort(),
    );
    const wildcard = await (
      await fetch(`${dashboard.url}/api/v1/patients?q=${encodeURIComponent("%")}`, { headers: ADMIN })
    ).json();
    expect(wildcard.items).toEqual([]);
  });

  test("the events API pages through every event once", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: Response = await fetch(`${dashboard.url}/api/v1/events?limit=15${cursor ? `&cursor=${cursor}` : ""}`, {
        headers: ADMIN,
      });
      const page = (await res.json()) as { items: { eventId: string }[]; nextCursor: string | null };
      seen.push(...page.items.map((e) => e.eventId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(N);
    expect(new Set(seen).size).toBe(N);
  });

  test("a cursor this API did not hand out is a 400, never a 500", async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    for (const [path, cursor] of [
      ["/api/v1/patients", b64({ id: "x" })],
      ["/api/v1/events", b64({})],
      ["/api/v1/events", b64({ receivedAt: "soon", eventId: 1 })],
      ["/api/v1/forms/generic/f/submissions", b64({ submittedAt: "junk", eventId: "e" })],
      ["/api/v1/patients", "!!not base64 json!!"],
    ]) {
      const res = await fetch(`${dashboard.url}${path}?cursor=${encodeURIComponent(cursor!)}`, { headers: ADMIN });
      expect({ path, status: res.status, code: (await res.json()).error?.code }).toEqual({
        path,
        status: 400,
        code: "invalid_cursor",
      });
    }
  });

  test("the API refuses requests without a valid bearer token", async () => {
    expect((await fetch(`${dashboard.url}/api/v1/patients`)).status).toBe(401);
    const wrong = await fetch(`${dashboard.url}/api/v1/patients`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe("unauthorized");
  });

  test("a second patient submission with the same email updates one row, and the cached copy", async () => {
    const [{ id }] = (
      await (await fetch(`${dashboard.url}/api/v1/patients?q=ada.1@example.com`, { headers: ADMIN })).json()
    ).items;
    const cached = await (await fetch(`${dashboard.url}/api/v1/patients/${id}`, { headers: ADMIN })).json();
    expect(cached.city).toBeNull();
    const res = await postWebhook(
      ingress.url,
      "generic",
      signGeneric({ data: { Email: "ada.1@example.com", City: "London" } }, "msg_pipeline_update"),
    );
    expect(res.status).toBe(200);
    await waitFor("update projected", async () => (await patientByEmail(sql, "ada.1@example.com"))?.city === "London");
    const p = (await patientByEmail(sql, "ada.1@example.com"))!;
    const row = { first_name: p.first_name, city: p.city, events_count: p.events_count };
    expect(row).toEqual({ first_name: "Ada1", city: "London", events_count: 2 });
    // The projector invalidated the cache entry the dashboard filled above.
    const fresh = await waitFor(
      "cache invalidated",
      async () => {
        const p = await (await fetch(`${dashboard.url}/api/v1/patients/${id}`, { headers: ADMIN })).json();
        return p.city === "London" ? p : undefined;
      },
      5000,
    );
    expect(fresh).toMatchObject({ id, firstName: "Ada1", eventsCount: 2 });
  });

  test("each service exposes Prometheus metrics of what it did", async () => {
    const ingressMetrics = await (await fetch(`${ingress.url}/metrics`)).text();
    expect(ingressMetrics).toMatch(/^hookline_webhooks_received_total\{source="generic",outcome="accepted"\} \d+/m);
    const projected = /^hookline_projector_events_total\{result="inserted"\} (\d+)/m.exec(
      await (await fetch(`${projector.url}/metrics`)).text(),
    );
    expect(Number(projected?.[1])).toBeGreaterThanOrEqual(N);
    // The detail reads above went through the cache; the first was a miss.
    expect(await (await fetch(`${dashboard.url}/metrics`)).text()).toMatch(
      /^hookline_dashboard_cache_misses_total [1-9]/m,
    );
  });
});

describe("ingress error contract", () => {
  test("unknown source → 404 JSON", async () => {
    const res = await postWebhook(ingress.url, "nope", signGeneric({}, "x"));
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe("unknown_source");
  });

  test("bad signature → 401, never stored", async () => {
    const req = signGeneric({ data: { Email: "mallory@example.com" } }, "msg_bad_sig");
    req.headers["webhook-signature"] = `v1,${Buffer.alloc(32).toString("base64")}`;
    const res = await postWebhook(ingress.url, "generic", req);
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("invalid_signature");
  });

  test("other methods on a webhook URL → 405 JSON, never 404", async () => {
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const res = await fetch(`${ingress.url}/v1/webhooks/typeform`, {
        method,
        body: method === "DELETE" ? undefined : "{}",
      });
      expect(res.status).toBe(405);
      expect((await res.json()).error.code).toBe("method_not_allowed");
    }
  });

  test("wrong content type → 415", async () => {
    const req = signGeneric("a=b", "msg_ct");
    req.headers["content-type"] = "text/plain";
    const res = await postWebhook(ingress.url, "generic", req);
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe("unsupported_media_type");
  });

  test("body over the limit → 413", async () => {
    const res = await postWebhook(
      ingress.url,
      "generic",
      signGeneric({ data: { blob: "x".repeat(1_100_000) } }, "msg_big"),
    );
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("body_too_large");
  });

  test("readiness reports NATS, the stream and the runtime sources loaded", async () => {
    const res = await fetch(`${ingress.url}/health/ready`);
    expect(res.status).toBe(200);
    expect((await res.json()).checks).toEqual({ nats: true, stream: true, runtimeSources: true });
  });
});
