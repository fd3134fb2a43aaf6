-- Appending to the audit trail in one statement. Until now a writer took the append lock and
-- read the chain's head (hookline_audit_head, 008), hashed its rows, then inserted them: two
-- statements, and for a dashboard read's entry (appended on its own) a transaction of four
-- round trips, each answered before the next was sent, with the lock held across the middle
-- two. This function does the same under the same lock in one statement: each row's canonical
-- JSON is put together from the parts the writer serialized beforehand (shared/audit/chain.ts:
-- `head` up to "at", `middle` up to "seq") with the time and seq taken under the lock, and
-- hashed: SHA-256(previous hash || that JSON), the chain as the verifier reads it back. Called
-- on its own it is its own transaction; called in a transaction, the lock is held to its end
-- (take it last, as before). It takes the lock and the head through hookline_audit_head, which
-- a pod of the version before this one still calls during a rolling upgrade.
--
-- `parts` is a JSON array of [head, middle] pairs, one a row, in order (JSON: a text[] parameter
-- made the writer escape every quote of the JSON texts; JSON.stringify does that natively).
-- Returns the first row's seq; the others follow it in order.
create function hookline_audit_append(parts jsonb) returns bigint
language plpgsql as $$
declare
  heads text[];
  middles text[];
  n int;
  head_seq bigint;
  prev bytea;
  at text;
  texts text[] := '{}';
  prevs bytea[] := '{}';
  hashes bytea[] := '{}';
  t text;
begin
  select array_agg(p->>0 order by o), array_agg(p->>1 order by o) into heads, middles
  from jsonb_array_elements(parts) with ordinality as x(p, o);
  n := coalesce(cardinality(heads), 0);
  if n = 0 or array_position(heads, null) is not null or array_position(middles, null) is not null then
    raise exception 'hookline_audit_append: parts must be [head, middle] pairs of text, at least one'
      using errcode = '22023';
  end if;
  -- The lock, the head and the time as every writer takes them (008: refused outside READ
  -- COMMITTED; the head read after the lock, so it includes every append committed before).
  select h.head_seq, h.head_hash, h.now_text into head_seq, prev, at from hookline_audit_head() h;
  head_seq := coalesce(head_seq, 0);
  -- The first row's previous hash: 32 zero bytes (GENESIS in shared/audit/chain.ts).
  prev := coalesce(prev, decode(repeat('00', 32), 'hex'));
  for i in 1..n loop
    t := heads[i] || '"' || at || '"' || middles[i] || '"' || (head_seq + i)::text || '"}';
    texts[i] := t;
    prevs[i] := prev;
    prev := sha256(prev || convert_to(t, 'UTF8'));
    hashes[i] := prev;
  end loop;
  -- The columns are read back from the hashed JSON itself: what is stored is what was hashed.
  insert into audit_log (seq, at, actor, action, entity_type, entity_id, changed_fields, before_hash, after_hash,
    details, prev_hash, hash)
  select r.seq, at::timestamptz, r.actor, r.action, r."entityType", r."entityId", r."changedFields",
    decode(r."beforeHash", 'hex'), decode(r."afterHash", 'hex'), r.details, x.prev_hash, x.hash
  from unnest(texts, prevs, hashes) as x(text, prev_hash, hash),
    jsonb_to_record(x.text::jsonb) as r(seq bigint, actor text, action text, "entityType" text, "entityId" text,
      "changedFields" text[], "beforeHash" text, "afterHash" text, details jsonb);
  return head_seq + 1;
end $$;
