// Issue #14 items 2 and 3, the pure parts: corrections overlaid on a source's mappings (as the
// projector's live view applies them), and the suggestion model learning from corrections.
import { describe, expect, test } from "bun:test";
import { CorrectedSources, type Corrections, withCorrections } from "../../../shared/sources/corrections.ts";
import { mapAnswers } from "../../../shared/sources/mapper.ts";
import { type Correction, suggestTargets } from "../../../shared/sources/suggest.ts";
import type { SourceConfig } from "../../../shared/sources/types.ts";
import { source } from "./helpers.ts";

const base = (): SourceConfig =>
  source("generic", { scheme: "github", secrets: ["x".repeat(32)] }, { forms: { f1: { fields: { Notiz: "city" } } } });

describe("corrections", () => {
  test("win for their key, keep the file's other keys, and map the answer", () => {
    const corrected = withCorrections(base(), new Map([["f1", { Ansprechpartner: "fullName" as const }]]));
    expect(corrected.forms.f1!.fields).toEqual({ Notiz: "city", Ansprechpartner: "fullName" });
    const { patient } = mapAnswers([{ label: "Ansprechpartner", value: "Maria Schulz" }], corrected, "f1");
    expect(patient).toMatchObject({ fullName: "Maria Schulz", firstName: "Maria", lastName: "Schulz" });
  });
  test("the live view reads the corrections current at each get, and sources added to the base later", () => {
    const sources = new Map([["generic", base()]]);
    let current: Corrections = new Map();
    const view = new CorrectedSources(sources, () => current);
    expect(view.get("generic")!.forms.f1!.fields.Ansprechpartner).toBeUndefined();
    current = new Map([["generic", new Map([["f1", { Ansprechpartner: "ignore" as const }]])]]);
    expect(view.get("generic")!.forms.f1!.fields.Ansprechpartner).toBe("ignore");
    sources.set("late", { ...base(), id: "late" });
    expect(view.has("late")).toBe(true);
    expect([...view.keys()]).toEqual(["generic", "late"]);
  });
});

describe("suggestions", () => {
  const correction = (formId: string, key: string, target: Correction["target"]): Correction => ({
    source: "generic",
    formId,
    key,
    target,
  });
  test("none without a similar correction (and no distinctive value)", () => {
    expect(suggestTargets({ label: "Erreichbar unter", samples: ["abends"] }, [])).toEqual([]);
  });
  test("a similar corrected label suggests its target, more sure with more forms and fitting values", () => {
    const one = [correction("a", "Erreichbar unter privat", "phone")];
    const two = [...one, correction("b", "Erreichbar unter (privat)", "phone")];
    const label = "Erreichbar unter, tagsüber";
    const s1 = suggestTargets({ label }, one)[0]!;
    const s2 = suggestTargets({ label }, two)[0]!;
    const s3 = suggestTargets({ label, samples: ["0171 1234567", "+49 30 1234567"] }, two)[0]!;
    expect(s1.target).toBe("phone");
    expect(s2.confidence).toBeGreaterThan(s1.confidence);
    expect(s3.confidence).toBeGreaterThan(s2.confidence);
    expect(s3.because).toContain("2/2 sample values fit");
  });
  test("values of the wrong shape lower a suggestion", () => {
    const corrections = [correction("a", "Kontakt", "email")];
    const fits = suggestTargets({ label: "Kontakt", samples: ["a@b.de"] }, corrections)[0]!;
    const misfits = suggestTargets({ label: "Kontakt", samples: ["Maria"] }, corrections)[0]!;
    expect(misfits.confidence).toBeLessThan(fits.confidence);
  });
});
