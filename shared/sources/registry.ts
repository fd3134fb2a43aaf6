import { genericAdapter } from "./adapters/generic.ts";
import { googleFormsAdapter } from "./adapters/google-forms.ts";
import { heyflowAdapter } from "./adapters/heyflow.ts";
import { typeformAdapter } from "./adapters/typeform.ts";
import type { AdapterType, SourceAdapter } from "./types.ts";

const ADAPTERS: Record<AdapterType, SourceAdapter> = {
  generic: genericAdapter,
  heyflow: heyflowAdapter,
  typeform: typeformAdapter,
  "google-forms": googleFormsAdapter,
};

export function getAdapter(type: AdapterType): SourceAdapter {
  const adapter = ADAPTERS[type];
  if (!adapter) throw new Error(`no adapter registered for type "${type}"`);
  return adapter;
}
