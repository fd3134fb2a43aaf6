// Operators' field-mapping corrections (stored per form in Postgres, shared/db/field-mappings.ts)
// overlaid on the sources file's per-form mappings: a correction wins for its field key, the
// file's entries for other keys stay. Pure: the projector's watcher keeps the corrections
// current and hands them here.
import type { MappingTarget, SourceConfig } from "./types.ts";

/** One form's corrections: field key (label, field id or ref) → target. */
export type FormCorrections = Record<string, MappingTarget>;

/** Corrections by source id, then form id. */
export type Corrections = ReadonlyMap<string, ReadonlyMap<string, FormCorrections>>;

/** `source` with `forms` (its corrections, by form id) overlaid on its mappings. */
export function withCorrections(
  source: SourceConfig,
  forms: ReadonlyMap<string, FormCorrections> | undefined,
): SourceConfig {
  if (!forms || forms.size === 0) return source;
  const merged: SourceConfig["forms"] = { ...source.forms };
  for (const [formId, fields] of forms) merged[formId] = { fields: { ...source.forms[formId]?.fields, ...fields } };
  return { ...source, forms: merged };
}

/**
 * A live view of `base` (which may itself change: runtime sources join it) whose get()
 * returns each source with the corrections `current()` holds at that moment. Each source's
 * merged config is cached until the corrections or the source change.
 */
export class CorrectedSources extends Map<string, SourceConfig> {
  readonly #cache = new Map<string, { base: SourceConfig; corrections: Corrections; merged: SourceConfig }>();

  constructor(
    private readonly base: Map<string, SourceConfig>,
    private readonly current: () => Corrections,
  ) {
    super();
  }

  override get(id: string): SourceConfig | undefined {
    const source = this.base.get(id);
    if (!source) return undefined;
    const corrections = this.current();
    const hit = this.#cache.get(id);
    if (hit && hit.base === source && hit.corrections === corrections) return hit.merged;
    const merged = withCorrections(source, corrections.get(id));
    this.#cache.set(id, { base: source, corrections, merged });
    return merged;
  }
  override has(id: string): boolean {
    return this.base.has(id);
  }
  override get size(): number {
    return this.base.size;
  }
  override keys(): MapIterator<string> {
    return this.base.keys();
  }
  override *entries(): MapIterator<[string, SourceConfig]> {
    for (const id of this.base.keys()) yield [id, this.get(id)!];
  }
  override *values(): MapIterator<SourceConfig> {
    for (const id of this.base.keys()) yield this.get(id)!;
  }
  override [Symbol.iterator](): MapIterator<[string, SourceConfig]> {
    return this.entries();
  }
  override forEach(fn: (value: SourceConfig, key: string, map: Map<string, SourceConfig>) => void): void {
    for (const [id, source] of this.entries()) fn(source, id, this);
  }
  override set(id: string, source: SourceConfig): this {
    this.base.set(id, source);
    return this;
  }
  override delete(id: string): boolean {
    return this.base.delete(id);
  }
  override clear(): void {
    this.base.clear();
  }
}
