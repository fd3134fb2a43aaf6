// A row's id (bigint) as the API and the operators' commands take it: its one decimal form, no
// sign, no leading zero, at most 18 digits (below 2^63). With leading zeros allowed, "07" and "7"
// named one patient in two spellings: a merge of 7 into "07" passed the "not into itself" check
// and deleted patient 7, and cache and audit entries keyed by what the caller typed escaped the
// projector's invalidation of "7".
export const ROW_ID = /^[1-9]\d{0,17}$/;

/** Whether `value` is a row id in its one form (ROW_ID). */
export const isRowId = (value: string): boolean => ROW_ID.test(value);
