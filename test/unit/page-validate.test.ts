// The Add New Client form's inline rules (services/dashboard/web/validate.ts): the API's own.
import { expect, test } from "bun:test";
import { validateClient } from "../../services/dashboard/web/validate.ts";

const ok = { name: "Praxis Sonnenschein", sourceType: "typeform", sourceName: "" };

test("a named client with a form tool and no source name is fine", () => {
  expect(validateClient(ok)).toEqual({});
  expect(validateClient({ ...ok, sourceName: "praxis-1" })).toEqual({});
});

test("each field says what is wrong with it", () => {
  expect(validateClient({ name: "  ", sourceType: "", sourceName: "Not Valid" })).toEqual({
    name: "Enter the client's name.",
    sourceType: "Pick the form tool.",
    sourceName: "Use lower-case letters, digits and hyphens (up to 63), starting with a letter or digit.",
  });
  expect(validateClient({ ...ok, name: "x".repeat(201) }).name).toBe("Use at most 200 characters.");
  expect(validateClient({ ...ok, sourceType: "jotform" }).sourceType).toBe("Pick the form tool.");
  expect(validateClient({ ...ok, sourceName: "-lead" }).sourceName).toBeDefined();
  expect(validateClient({ ...ok, sourceName: "a".repeat(64) }).sourceName).toBeDefined();
});
