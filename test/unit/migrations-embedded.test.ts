// The compiled executable migrates from the SQL embedded in shared/db/migrations/index.ts;
// a migration added to the folder but not to that list would silently never run.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readMigrations } from "../../shared/db/migrate.ts";
import { EMBEDDED_MIGRATIONS } from "../../shared/db/migrations/index.ts";

const DIR = join(import.meta.dir, "..", "..", "shared", "db", "migrations");

test("the embedded migrations are exactly the .sql files in shared/db/migrations", () => {
  const onDisk = readdirSync(DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  expect(Object.keys(EMBEDDED_MIGRATIONS).sort()).toEqual(onDisk);
  // Same versions, names and text, in the same order.
  expect(readMigrations()).toEqual(readMigrations(DIR));
});
