-- Word pairs for name searches of two or more words (services/dashboard/patient-list.ts).
-- "Anna Müll" was 'anna' & ('muller' | …) on patient_search's word index: GIN reads both words'
-- whole posting lists to intersect them, and a common first name has one of ~16,000 patients at
-- 1M (the bitmap index scan alone took 0.9-1.1 ms of Postgres CPU, the largest part of a search;
-- docs/bench.md). Here every ordered pair of a patient's search words is one lexeme, "anna
-- muller", so the same search is the prefix 'muller anna':* : a posting list as short as its
-- answer (147 patients, 0.06 ms).
--
-- The pairs include each word with itself ("anna anna"), so a pair query finds exactly what
-- the word query finds: a row has a word in A and a word in B, the same word or two.
-- A patient with n search words has n² pairs (3-5 words: 9-25); at 1M patients the column
-- adds ~220 MB to patient_search and its index ~40 MB (names repeat, so pairs do too). Making
-- and indexing a new patient's pairs costs Postgres ~4 µs and ~10 µs (ops/bench projector, four
-- drains each way: its Postgres backends 138-158 µs an event before, 154-162 after; drain rates
-- within their noise).
create function hookline_search_pairs(search_text text) returns tsvector
  language sql immutable strict parallel safe
  as $$
    select array_to_tsvector(array(select a || ' ' || b from unnest(w) a, unnest(w) b))
    from tsvector_to_array(to_tsvector('simple'::regconfig, search_text)) w
  $$;

alter table patient_search
  add column pair_vector tsvector generated always as (hookline_search_pairs(search_text)) stored;
create index patient_search_pairs on patient_search using gin (pair_vector);
