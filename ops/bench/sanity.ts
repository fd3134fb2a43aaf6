// Before measuring anything: every generated payload must authenticate and map to a
// patient with its email through the real adapters, or the bench would measure 401s or
// dead letters instead of webhooks.
import { join } from "node:path";
import { getAdapter, loadSources } from "../../shared/sources/index.ts";
import { BENCH_SOURCES, makeRequest } from "./payloads.ts";

export function checkPayloads(root: string): void {
  const sources = loadSources(join(root, "ops/dev/sources.yaml"));
  const now = Date.now();
  BENCH_SOURCES.forEach((id, i) => {
    const source = sources.get(id);
    if (!source) throw new Error(`dev source ${id} missing from ops/dev/sources.yaml`);
    const r = makeRequest("sanity", i, now);
    const raw = { method: "POST", headers: r.headers, query: {}, body: r.body, now };
    const adapter = getAdapter(source.adapter);
    const auth = adapter.authenticate(raw, source);
    if (!auth.ok) throw new Error(`bench payload for ${id} does not authenticate: ${auth.code}`);
    const event = adapter.parse(raw, source);
    if (event.patient.email !== r.email)
      throw new Error(`bench payload for ${id} maps to email ${event.patient.email}, expected ${r.email}`);
  });
}
