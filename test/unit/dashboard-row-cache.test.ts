// The dashboard's cache of opened patient rows (services/dashboard/row-cache.ts): a row is
// served only in the version it was opened in, for a limited time, the least recently used
// leaving first.
import { expect, test } from "bun:test";
import type { PatientDto } from "../../services/dashboard/patients.ts";
import { createRowCache } from "../../services/dashboard/row-cache.ts";

const patient = (id: string) => ({ id }) as PatientDto;

test("a row is served in the version it was opened in, never in another", () => {
  const cache = createRowCache();
  cache.put("1", "100", patient("1"));
  expect(cache.get("1", "100")?.id).toBe("1");
  expect(cache.get("1", "101")).toBeUndefined();
  // The other version dropped it.
  expect(cache.get("1", "100")).toBeUndefined();
});

test("rows expire after a minute and can be forgotten", () => {
  let now = 0;
  const cache = createRowCache(() => now);
  cache.put("1", "1", patient("1"));
  cache.put("2", "1", patient("2"));
  cache.forget(["2"]);
  expect(cache.get("2", "1")).toBeUndefined();
  now = 59_999;
  expect(cache.get("1", "1")).toBeDefined();
  now = 60_000;
  expect(cache.get("1", "1")).toBeUndefined();
});

test("bounded: the least recently used row leaves first", () => {
  const cache = createRowCache();
  for (let i = 0; i < 5_000; i++) cache.put(String(i), "1", patient(String(i)));
  expect(cache.get("0", "1")).toBeDefined(); // used: now the most recent
  cache.put("new", "1", patient("new"));
  // A tenth (and the one over) leaves at once, the least recently used first: 1..501.
  expect(cache.get("1", "1")).toBeUndefined();
  expect(cache.get("501", "1")).toBeUndefined();
  expect(cache.get("502", "1")).toBeDefined();
  expect(cache.get("0", "1")).toBeDefined();
  expect(cache.get("new", "1")).toBeDefined();
});
