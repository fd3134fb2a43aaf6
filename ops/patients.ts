// `hookline patients erase ID --yes`: the right to be forgotten, from every place hookline keeps
// a patient: Postgres (shared/db/erase.ts, with its audit entry), JetStream and the Redis cache.
// DELETE /api/v1/patients/:id does the same; both erase in the order of shared/erase-streams.ts.
// Run through ops/hookline.ts.
import { parseArgs } from "node:util";
import type { NatsConnection } from "@nats-io/nats-core";
import { commonConfig, keyringConfig, readConfig, sourcesFileConfig } from "../shared/config.ts";
import { loadKeys } from "../shared/crypto/keys.ts";
import { lockPatient } from "../shared/db/patients.ts";
import { isRowId } from "../shared/db/row-id.ts";
import { allMappableSources } from "../shared/db/sources.ts";
import { erasePatientEverywhere } from "../shared/erase-streams.ts";
import { DLQ_STREAM, STREAM } from "../shared/nats.ts";
import { createPatientCache } from "../shared/patient-cache.ts";
import { loadSources } from "../shared/sources/index.ts";
import { cliActor, cliDatabase, cliNats, cliRedis, failureExit, UsageError } from "./cli.ts";

export const PATIENTS_USAGE = `  hookline patients erase ID --yes                         erase a patient (right to be forgotten): its row, conflicts,
                                                         submissions and raw events, its cached copy, and what JetStream
                                                         still holds of it (its events, dead letters naming it);
                                                         audited without its data. Needs DATABASE_URL, REDIS_URL,
                                                         NATS_URL, HOOKLINE_SOURCES and the keys`;

async function erase(id: string): Promise<number> {
  const config = readConfig({ ...commonConfig, ...keyringConfig, sourcesFile: sourcesFileConfig });
  const keys = loadKeys(config);
  const sources = loadSources(config.sourcesFile);
  const sql = await cliDatabase();
  const redis = await cliRedis();
  let nc: NatsConnection | undefined;
  try {
    // Its email and phone, to recognise its dead letters: read (and opened) before anything goes.
    const patient = await sql.begin((tx) => lockPatient(tx, keys, id));
    if (!patient) {
      console.error(`no patient ${id}`);
      return 1;
    }
    // Before anything is erased: a rerun after the commit finds no patient, so a sweep that
    // could not connect (or read the sources) then would never happen.
    const connection = await cliNats();
    nc = connection; // closed below, whatever follows
    // Dead letters are decoded as the projector would: runtime sources and saved corrections too.
    const decoding = await sql.begin((tx) => allMappableSources(tx, sources));
    const erased = await erasePatientEverywhere(
      sql,
      patient,
      { actor: cliActor() },
      {
        connection: async () => connection,
        sources: decoding,
        dropCache: () => createPatientCache(redis).invalidate([id]),
        keys,
      },
    );
    if (!erased) {
      console.error(`patient ${id} was erased meanwhile`);
      return 1;
    }
    const { rows, streams, cacheError } = erased;
    const cache = cacheError
      ? `cache entry NOT dropped (${cacheError.message}; it expires after CACHE_TTL_SECONDS)`
      : "cache entry dropped";
    const swept = streams.swept
      ? `${streams.webhooks} message(s) from ${STREAM}, ${streams.deadLetters} dead letter(s) from ${DLQ_STREAM}`
      : `JetStream NOT swept (${streams.message})`;
    console.log(
      `patient ${id} erased: ${rows.patients} patient, ${rows.conflicts} conflict(s), ${rows.formSubmissions} form submission(s), ` +
        `${rows.webhookEvents} raw event(s); ${cache}; ${swept}`,
    );
    return cacheError || !streams.swept ? 1 : 0;
  } finally {
    await nc?.close();
    redis.disconnect();
    await sql.end({ timeout: 5 });
  }
}

/** Runs `patients <verb> ...args`; returns the exit code. */
export async function patientsCommand(args: string[]): Promise<number> {
  try {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: { yes: { type: "boolean", default: false } },
    });
    const [verb, id, ...rest] = positionals;
    if (verb !== "erase" || !id || rest.length > 0) throw new UsageError("patients needs erase ID");
    if (!isRowId(id)) throw new UsageError("the patient id must be a number without leading zeros");
    if (!values.yes) throw new UsageError(`erasing cannot be undone: add --yes to erase patient ${id}`);
    return await erase(id);
  } catch (error) {
    return failureExit(error, PATIENTS_USAGE);
  }
}
