// Erasure's dead-letter match on raw bytes (shared/erase-streams.ts): the patient's email as a
// whole address only, so another patient's dead letter is not erased with it.
import { expect, test } from "bun:test";
import { holdsEmail } from "../../shared/erase-streams.ts";

test("holdsEmail: the address whole, in any case, wherever it stands", () => {
  expect(holdsEmail('{"E-Mail":"Ada@Example.com"}', "ada@example.com")).toBe(true);
  expect(holdsEmail("ada@example.com", "ada@example.com")).toBe(true);
  expect(holdsEmail("write to ada@example.com.", "ada@example.com")).toBe(true);
  expect(holdsEmail('{"a":"lada@example.com","b":"ada@example.com"}', "ada@example.com")).toBe(true);
});

test("holdsEmail: not inside another address", () => {
  expect(holdsEmail('{"email":"lada@example.com"}', "ada@example.com")).toBe(false);
  expect(holdsEmail('{"email":"x.ada@example.com"}', "ada@example.com")).toBe(false);
  expect(holdsEmail('{"email":"ada@example.com2"}', "ada@example.com")).toBe(false);
  expect(holdsEmail('{"email":"ada@example.co"}', "ada@example.com")).toBe(false);
  expect(holdsEmail('{"email":"ada@example.com-x.de"}', "ada@example.com")).toBe(false);
});
