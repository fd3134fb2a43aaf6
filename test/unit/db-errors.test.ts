// failureReason: a database error as codes, never as text that may quote a row value.
import { expect, test } from "bun:test";
import postgres from "postgres";
import { failureReason } from "../../shared/db/errors.ts";

test("a Postgres error is named by its codes; its message and detail are left out", () => {
  const error = new postgres.PostgresError({
    message: 'invalid input syntax for type integer: "ada@example.com"',
    detail: "Failing row contains (1, ada@example.com, Ada).",
    code: "22P02",
    table_name: "patients",
    column_name: "phone",
    routine: "pg_strtoint32_safe",
  } as never);
  const reason = failureReason(error);
  expect(reason).toBe(
    "postgres 22P02 invalid_text_representation table=patients column=phone routine=pg_strtoint32_safe",
  );
  expect(reason).not.toContain("ada@example.com");
  expect(
    failureReason(
      new postgres.PostgresError({ message: "x", code: "23514", constraint_name: "patients_email_lower" } as never),
    ),
  ).toBe("postgres 23514 check_violation constraint=patients_email_lower");
});

test("other errors are named by name and code", () => {
  expect(
    failureReason(Object.assign(new Error("write CONNECTION_CLOSED 127.0.0.1:5432"), { code: "CONNECTION_CLOSED" })),
  ).toBe("Error CONNECTION_CLOSED");
  expect(failureReason(new RangeError("Invalid time value"))).toBe("RangeError");
  expect(failureReason("a string")).toBe("Error");
});
