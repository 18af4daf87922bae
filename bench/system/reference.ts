// The lag's reference in the same run: a bare pipeline with the system's hops (see
// reference-process.ts), on the same servers, paced at the rates of the system's own lag
// points. The limit tells what PostgreSQL can take; this tells what the hops cost on this
// machine, so a lag figure can be read as this system's work or as the machine's.
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Pool } from "pg";
import { createDb, createPool, endPool } from "../../adapters/postgres/pool";
import type { Database } from "../../adapters/postgres/schema";
import { migrateAndSeed } from "../../handlers/migrate";
import { sleep } from "./stats";

const REPO_ROOT = resolve(__dirname, "..", "..");
const READY = /reference listening on (http:\/\/127\.0\.0\.1:\d+)/;
const START_TIMEOUT_MS = 30_000;

export interface ReferencePipeline {
  readonly url: string;
  readonly pid: number;
  /** Its own database, with the system's tables and seed: the lag points read its orders' `placed_at`. */
  readonly db: Kysely<Database>;
  /** Stops the process, drops its slot (so it holds no WAL) and closes the pool. */
  stop(): Promise<void>;
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((done) => child.once("exit", () => done()));

/**
 * Starts the reference on a database of its own, `name`, made here (with its publication and
 * slot of the same name) on the server `admin` is connected to.
 */
export const startReferencePipeline = async (
  admin: Pool,
  databaseUrl: (name: string) => string,
  redisUrl: string,
  name = "bench_reference",
): Promise<ReferencePipeline> => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain identifier: ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = databaseUrl(name);
  const pool = createPool({ connectionString: url, max: 2 });
  const db = createDb(pool);
  await migrateAndSeed(db);
  await sql.raw(`CREATE PUBLICATION ${name} FOR TABLE outbox WITH (publish = 'insert')`).execute(db);
  await sql.raw(`SELECT pg_create_logical_replication_slot('${name}', 'pgoutput')`).execute(db);

  const child = spawn(process.execPath, ["--import", "tsx", "bench/system/reference-process.ts"], {
    cwd: REPO_ROOT,
    env: { ...process.env, REFERENCE_DATABASE_URL: url, REFERENCE_REDIS_URL: redisUrl, REFERENCE_SLOT: name },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let stopped: Promise<void> | undefined;
  /** Once, however often it is called: the bench stops it after its points, and its cleanup again. */
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      child.kill("SIGKILL");
      await exited(child);
      try {
        // The walsender ends with its connection, a moment after the process: until then the
        // slot is active (55006) and cannot be dropped.
        for (let attempt = 1; ; attempt++) {
          try {
            await sql.raw(`SELECT pg_drop_replication_slot('${name}')`).execute(db);
            break;
          } catch (error) {
            if ((error as { code?: unknown }).code !== "55006" || attempt === 100) throw error;
            await sleep(50);
          }
        }
      } finally {
        await endPool(pool);
      }
    })());
  try {
    const started = await new Promise<string>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`the reference pipeline did not start in ${START_TIMEOUT_MS} ms: ${output.slice(-500)}`)), START_TIMEOUT_MS);
      const heard = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-4096);
        const match = READY.exec(output);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          ready(match[1]);
        }
      };
      child.stdout?.on("data", heard);
      child.stderr?.on("data", heard);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        fail(new Error(`the reference pipeline exited (${code ?? signal}): ${output.slice(-500)}`));
      });
    });
    return { url: started, pid: child.pid ?? -1, db, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
