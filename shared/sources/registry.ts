// The source types: an adapter each, keyed by its type name (the `adapter` of a source in
// the sources file). Adding a source type is one adapter file and one line here (see the
// checklist in docs/sources.md).
import { genericAdapter } from "./adapters/generic.ts";
import { googleFormsAdapter } from "./adapters/google-forms.ts";
import { heyflowAdapter } from "./adapters/heyflow.ts";
import { typeformAdapter } from "./adapters/typeform.ts";
import type { SourceAdapter } from "./types.ts";

const ADAPTERS = {
  heyflow: heyflowAdapter,
  typeform: typeformAdapter,
  "google-forms": googleFormsAdapter,
  generic: genericAdapter,
} as const satisfies Record<string, SourceAdapter>;

export type AdapterType = keyof typeof ADAPTERS;

export const ADAPTER_TYPES = Object.keys(ADAPTERS) as AdapterType[];

export function getAdapter(type: AdapterType): SourceAdapter {
  const adapter: SourceAdapter | undefined = ADAPTERS[type];
  if (!adapter) throw new Error(`no adapter registered for type "${type}"`);
  return adapter;
}
