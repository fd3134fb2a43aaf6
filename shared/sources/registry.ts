import { genericAdapter } from "./adapters/generic.ts";
import type { AdapterType, SourceAdapter } from "./types.ts";

const ADAPTERS: Partial<Record<AdapterType, SourceAdapter>> = {
  generic: genericAdapter,
};

export function getAdapter(type: AdapterType): SourceAdapter {
  const adapter = ADAPTERS[type];
  if (!adapter) throw new Error(`no adapter registered for type "${type}"`);
  return adapter;
}
