// Suggestions for fields no rule maps (issue #14 item 3): a small, explainable model learned
// from operators' corrections across all forms. For a field (its label and a few sample
// values) each target gets
//   label score = the best similarity of the label to a label corrected to that target
//                 (Jaccard of character trigrams of the normalized labels, so "Handy privat"
//                 meets "Handy (privat)" and "Cellulare personale" meets "Cellulare"), plus
//                 0.05 for each further form that made the same correction (at most +0.15);
//   shape fit   = the share of sample values whose shape the target accepts (an email
//                 address for email, a possible phone number for phone, a date, a postal
//                 code, yes/no for consent, letters for names; 0.5 when there are none);
//   confidence  = label score × (0.5 + 0.5 × shape fit), capped at 0.95.
// With no similar correction, a distinctive shape alone (every sample an email, a phone
// number or a date) suggests that field at 0.3 × fit. Each suggestion says why, in words.
import { patientField } from "../patient-fields.ts";
import { normalizeKey } from "./labels.ts";
import {
  normalizeConsent,
  normalizeDate,
  normalizeEmail,
  normalizeGender,
  normalizePostalCode,
  parsePhone,
} from "./normalize.ts";
import type { MappingTarget } from "./types.ts";

/** One correction an operator made: a form's field key mapped to a target. */
export interface Correction {
  source: string;
  formId: string;
  key: string;
  target: MappingTarget;
}

export interface Suggestion {
  target: MappingTarget;
  confidence: number;
  /** Why, in words (labels and counts, never values). */
  because: string;
}

const MAX_KEY = 200;

function trigrams(label: string): Set<string> {
  const text = ` ${normalizeKey(label.slice(0, MAX_KEY).replace(/[./[\]]+/g, " "))} `;
  const out = new Set<string>();
  for (let i = 0; i + 3 <= text.length; i++) out.add(text.slice(i, i + 3));
  return out;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const t of a) if (b.has(t)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Whether `target` accepts the value's shape. */
function fits(target: MappingTarget, value: string): boolean {
  if (target === "ignore") return true;
  switch (patientField(target).kind) {
    case "email":
      return normalizeEmail(value) !== undefined;
    case "phone":
      return parsePhone(value) !== undefined;
    case "date":
      return normalizeDate(value) !== undefined;
    case "postalCode":
      return normalizePostalCode(value) !== undefined && /\d/.test(value) && value.length <= 10;
    case "consent":
      return normalizeConsent(value)?.certain === true;
    case "gender":
      return normalizeGender(value) !== undefined;
    case "country":
    case "name":
    case "street":
    case "text":
      return /\p{L}/u.test(value) && normalizeEmail(value) === undefined;
  }
}

const DISTINCTIVE: MappingTarget[] = ["email", "phone", "dateOfBirth"];

/** Up to `limit` suggestions for a field, best first. */
export function suggestTargets(
  field: { label: string; samples?: readonly string[] },
  corrections: readonly Correction[],
  limit = 3,
): Suggestion[] {
  const samples = (field.samples ?? []).filter((s) => s.length > 0 && s.length <= 256).slice(0, 20);
  const fit = (target: MappingTarget) =>
    samples.length === 0 ? 0.5 : samples.filter((s) => fits(target, s)).length / samples.length;
  const mine = trigrams(field.label);
  // Per target: the most similar corrected label, and the forms that corrected a similar one.
  const best = new Map<MappingTarget, { sim: number; label: string; forms: Set<string> }>();
  for (const c of corrections) {
    const sim = jaccard(mine, trigrams(c.key));
    if (sim < 0.3) continue;
    const hit = best.get(c.target) ?? { sim: 0, label: c.key, forms: new Set<string>() };
    if (sim > hit.sim) Object.assign(hit, { sim, label: c.key });
    hit.forms.add(`${c.source}/${c.formId}`);
    best.set(c.target, hit);
  }
  const out: Suggestion[] = [];
  for (const [target, hit] of best) {
    const labelScore = Math.min(1, hit.sim + 0.05 * Math.min(hit.forms.size - 1, 3));
    const f = fit(target);
    const confidence = Math.min(0.95, labelScore * (0.5 + 0.5 * f));
    const shapes = samples.length ? `; ${Math.round(f * samples.length)}/${samples.length} sample values fit` : "";
    out.push({
      target,
      confidence: Math.round(confidence * 100) / 100,
      because: `label is ${hit.sim.toFixed(2)} like "${hit.label}", mapped to ${target} in ${hit.forms.size} form(s)${shapes}`,
    });
  }
  if (out.length === 0 && samples.length > 0) {
    for (const target of DISTINCTIVE) {
      const f = fit(target);
      if (f === 1)
        out.push({
          target,
          confidence: Math.round(0.3 * f * 100) / 100,
          because: `no similar correction; all ${samples.length} sample values look like ${target}`,
        });
    }
  }
  return out.sort((a, b) => b.confidence - a.confidence).slice(0, limit);
}
