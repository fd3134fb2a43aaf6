// Form-specific data: which forms were seen, their questions, and their submissions'
// answers, optionally narrowed to one question ("list a form's answers by question").
import type { Sql } from "postgres";
import type { Keys } from "../../shared/crypto/keys.ts";
import { FORM_SUBMISSIONS, openCell, sealedColumn } from "../../shared/db/sealed.ts";

const ANSWERS = sealedColumn(FORM_SUBMISSIONS, "answers_enc");

export interface FormSummary {
  source: string;
  formId: string;
  submissions: number;
  lastSubmittedAt: string;
}

export async function listForms(sql: Sql): Promise<FormSummary[]> {
  const rows = await sql`
    select source, form_id, count(*)::int as submissions, max(submitted_at) as last
    from form_submissions group by source, form_id order by max(submitted_at) desc limit 1000`;
  return rows.map((r) => ({
    source: r.source,
    formId: r.form_id,
    submissions: r.submissions,
    lastSubmittedAt: r.last.toISOString(),
  }));
}

export async function formQuestions(sql: Sql, source: string, formId: string) {
  const rows = await sql`
    select label, field_id, field_type, answers_count, first_seen, last_seen
    from form_questions where source = ${source} and form_id = ${formId}
    order by first_seen, label`;
  return rows.map((r) => ({
    label: r.label,
    fieldId: r.field_id,
    fieldType: r.field_type,
    answersCount: Number(r.answers_count),
    firstSeen: r.first_seen.toISOString(),
    lastSeen: r.last_seen.toISOString(),
  }));
}

export interface SubmissionQuery {
  source: string;
  formId: string;
  /** Only this question's answer per submission. */
  question?: string;
  limit: number;
  before?: { submittedAt: string; eventId: string };
}

export async function formSubmissions(sql: Sql, keys: Keys, q: SubmissionQuery) {
  const before = q.before
    ? sql`and (submitted_at, event_id) < (${q.before.submittedAt}::timestamptz, ${q.before.eventId})`
    : sql``;
  const rows = await sql`
    select event_id, patient_id, submitted_at, ${sql(ANSWERS.column)}, ${sql(ANSWERS.legacy)}
    from form_submissions
    where source = ${q.source} and form_id = ${q.formId}
      ${before}
    order by submitted_at desc, event_id desc
    limit ${q.limit}`;
  return rows.map((r) => {
    const answers = openCell(keys, ANSWERS, r[ANSWERS.column], r[ANSWERS.legacy]) as {
      label: string;
      value: unknown;
    }[];
    const base = {
      eventId: r.event_id,
      patientId: r.patient_id === null ? null : String(r.patient_id),
      submittedAt: r.submitted_at.toISOString(),
    };
    if (q.question === undefined)
      return { ...base, answers: Object.fromEntries(answers.map((a) => [a.label, a.value])) };
    return { ...base, value: answers.find((a) => a.label === q.question)?.value ?? null };
  });
}
