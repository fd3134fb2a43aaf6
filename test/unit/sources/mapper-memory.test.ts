// The mapper remembers label readings across submissions (issue #13 item 4). What it maps must
// not depend on what it mapped before: the same answers map the same after other forms, after
// the memory was emptied at its bound, and a nested answer is read by its path, not only by the
// label the path joins to.
import { expect, test } from "bun:test";
import { mapAnswers } from "../../../shared/sources/mapper.ts";

const answers = [
  { label: "Vorname", value: "Ada" },
  { label: "Nachname", value: "Lovelace" },
  { label: "E-Mail", value: "Ada@Example.com" },
  { label: "Telefon", value: "0170 1234567" },
  { label: "Geburtsdatum", value: "21.09.1987" },
];
const map = (a: Parameters<typeof mapAnswers>[0]) => mapAnswers(a, { forms: {} }, "form-1");

test("the same answers map the same, before and after other forms and past the memory's bound", () => {
  const first = map(answers);
  expect(first.patient).toMatchObject({ firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" });
  // Spanish labels switch the name convention for their own submission only.
  map([
    { label: "Nombre completo", value: "Ada Lovelace Byron" },
    { label: "Apellidos", value: "Lovelace Byron" },
  ]);
  expect(map(answers)).toEqual(first);
  for (let i = 0; i < 25_000; i++) map([{ label: `Frage ${i}`, value: "x" }]);
  expect(map(answers)).toEqual(first);
}, 60_000); // 25,000 submissions: a second or two, more on a busy machine

test("a nested answer is read by its path: two paths joined to one label are two readings", () => {
  // ["meta", "ip"] is delivery metadata (ignored); the single key "meta.ip" is not, so its
  // email-shaped value is taken by its shape. Read in either order, each keeps its own reading.
  const flat = () => map([{ label: "meta.ip", value: "a@example.com", path: ["meta.ip"] }]);
  const nested = () => map([{ label: "meta.ip", value: "a@example.com", path: ["meta", "ip"] }]);
  expect(flat().patient.email).toBe("a@example.com");
  expect(nested().patient.email).toBeUndefined();
  expect(flat().patient.email).toBe("a@example.com");
});
