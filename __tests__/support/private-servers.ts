import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import type { Kysely } from "kysely";
import { Client, type Pool } from "pg";
import { createDb, createPool } from "../../adapters/postgres/pool";
import type { Database } from "../../adapters/postgres/schema";
import { startEmbeddedPostgres, type RunningPostgres } from "../../local/embedded-postgres";
import { startRedisServer } from "../../local/redis-server";

/**
 * Servers of one test file's own, so a fault it injects (a PostgreSQL restart, a paused or
 * flushed Redis) reaches no other suite.
 */

export interface PrivateDatabase {
  readonly name: string;
  readonly url: string;
  /** Survives the server's restarts: a dead connection is dropped and replaced on demand. */
  readonly pool: Pool;
  readonly db: Kysely<Database>;
  /** Drops the database (its replication slots first: they would keep it alive). */
  drop(): Promise<void>;
}

export interface PrivatePostgres {
  /** The `postgres` superuser's default database. */
  readonly url: string;
  readonly port: number;
  /** The postmaster's pid, read from `postmaster.pid`. */
  pid(): number;
  /** Fast shutdown, `downMs` with no server, then the same server again on the same port. */
  restart(downMs?: number): Promise<void>;
  /** A new, empty database on this server (no migration: the runtime under test migrates). */
  database(): Promise<PrivateDatabase>;
  /** The server's recent log lines (kept for failure reports). */
  log(): string;
  /** The helper process that runs the server (SIGKILL it to orphan the postmaster). */
  readonly helperPid: number;
  stop(): Promise<void>;
}

/** Runs `sql` as the superuser on the server's `postgres` database, once. */
export const adminQuery = async <R extends Record<string, unknown>>(url: string, sql: string, values: unknown[] = []): Promise<R[]> => {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
};

/**
 * The server runs in a helper process of its own (this file, run by Node with tsx): jest's
 * module system cannot load the ESM-only `embedded-postgres` inside a worker, and a helper
 * that notices its parent die stops the server even when the worker is killed.
 */
const SERVE = "CQRS_FAULTS_POSTGRES_HELPER";
const OPTIONS = "CQRS_FAULTS_POSTGRES_OPTIONS";

export interface PrivatePostgresOptions {
  /** A data folder of the caller's (kept by stop); a temporary one when absent. */
  readonly dataDir?: string;
  readonly reclaimOrphan?: boolean;
  /** More server settings (`-c name=value`). */
  readonly settings?: Readonly<Record<string, string>>;
}

type Request = { readonly id: number; readonly op: "restart"; readonly downMs: number } | { readonly id: number; readonly op: "stop" };
type Reply =
  | { readonly type: "ready"; readonly url: string; readonly port: number; readonly dataDir: string }
  | { readonly type: "failed"; readonly error: string }
  | { readonly type: "log"; readonly line: string }
  | { readonly type: "done"; readonly id: number; readonly error?: string };

const serve = async (): Promise<void> => {
  // After the test process went away, there is nobody to tell: a failed send is dropped.
  const send = (reply: Reply) => {
    if (process.connected) process.send?.(reply, undefined, undefined, () => undefined);
  };
  let server: RunningPostgres;
  try {
    const options = JSON.parse(process.env[OPTIONS] ?? "{}") as PrivatePostgresOptions;
    server = await startEmbeddedPostgres({ ...options, onLog: (line) => send({ type: "log", line }) });
  } catch (error) {
    send({ type: "failed", error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop().catch(() => undefined);
  };
  // The test process is gone (a killed worker): take the server down with it.
  process.on("disconnect", () => void stop().then(() => process.exit(0)));
  process.on("message", (request: Request) => {
    const run = request.op === "restart" ? server.restart(request.downMs) : stop();
    run.then(
      () => send({ type: "done", id: request.id }),
      (error: unknown) => send({ type: "done", id: request.id, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  send({ type: "ready", url: server.url, port: server.port, dataDir: server.dataDir });
};

if (process.env[SERVE] === "1") void serve();

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms).unref());

/** The pid in `postmaster.pid` (its first line). */
const postmasterPid = (dataDir: string): number => {
  const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${dataDir}/postmaster.pid`);
  return pid;
};

export const startPrivatePostgres = async (options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> => {
  const lines: string[] = [];
  const helper = spawn(process.execPath, ["--import", "tsx", __filename], {
    cwd: resolve(__dirname, "..", ".."),
    env: { ...process.env, [SERVE]: "1", [OPTIONS]: JSON.stringify(options) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, (error?: string) => void>();
  let nextId = 0;
  const ready = new Promise<{ url: string; port: number; dataDir: string }>((resolveReady, reject) => {
    helper.on("message", (reply: Reply) => {
      if (reply.type === "log") {
        lines.push(reply.line.trimEnd());
        if (lines.length > 400) lines.splice(0, lines.length - 400);
      } else if (reply.type === "ready") resolveReady(reply);
      else if (reply.type === "failed") reject(new Error(reply.error));
      else {
        pending.get(reply.id)?.(reply.error);
        pending.delete(reply.id);
      }
    });
    helper.once("exit", (code, signal) => {
      reject(new Error(`the PostgreSQL helper exited (code ${code}, signal ${signal})`));
      for (const done of pending.values()) done(`the PostgreSQL helper exited (code ${code}, signal ${signal})`);
      pending.clear();
    });
  });
  const exited = new Promise<void>((done) => helper.once("exit", () => done()));
  // An idle helper never keeps the test process alive (it stops its server when that goes);
  // while it is asked something, it does.
  const channel = helper.channel as { ref?: () => void; unref?: () => void } | undefined;
  const idle = () => {
    if (pending.size > 0) return;
    helper.unref();
    channel?.unref?.();
  };
  const server = await ready.catch((error: unknown) => {
    throw new Error(`${String(error)}\n${lines.slice(-5).join("\n")}`);
  });
  idle();
  const ask = (request: { op: "restart"; downMs: number } | { op: "stop" }) =>
    new Promise<void>((resolveAsk, reject) => {
      const id = nextId++;
      helper.ref();
      channel?.ref?.();
      pending.set(id, (error) => {
        queueMicrotask(idle);
        if (error === undefined) resolveAsk();
        else reject(new Error(error));
      });
      helper.send({ ...request, id });
    });
  const databases = new Set<PrivateDatabase>();
  return {
    url: server.url,
    port: server.port,
    pid: () => postmasterPid(server.dataDir),
    restart: (downMs = 0) => ask({ op: "restart", downMs }),
    helperPid: helper.pid ?? -1,
    log: () => lines.join("\n"),
    database: async () => {
      const name = `f_${randomBytes(6).toString("hex")}`;
      await adminQuery(server.url, `CREATE DATABASE ${name}`);
      const url = new URL(server.url);
      url.pathname = `/${name}`;
      // A test's own connections lose the server too when a case restarts it; that is
      // expected, and the pool replaces them.
      const pool = createPool({ connectionString: url.toString(), max: 20, onIdleError: () => undefined });
      const db = createDb(pool);
      const database: PrivateDatabase = {
        name,
        url: url.toString(),
        pool,
        db,
        drop: async () => {
          databases.delete(database);
          await db.destroy().catch(() => undefined);
          await adminQuery(
            server.url,
            `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`,
            [name],
          ).catch(() => undefined);
          await adminQuery(server.url, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1`, [name]).catch(
            () => undefined,
          );
          await adminQuery(server.url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        },
      };
      databases.add(database);
      return database;
    },
    stop: async () => {
      for (const database of [...databases]) await database.drop().catch(() => undefined);
      if (helper.exitCode !== null || helper.signalCode !== null) return;
      const stopped = await Promise.race([ask({ op: "stop" }).then(() => true, () => false), sleep(40_000).then(() => false)]);
      if (!stopped) {
        // Whatever holds it, a test file must not leave its server behind.
        try {
          process.kill(postmasterPid(server.dataDir), "SIGKILL");
        } catch {
          // already gone
        }
        helper.kill("SIGKILL");
      }
      if (helper.connected) helper.disconnect();
      await exited;
    },
  };
};

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** SIGSTOP: the server keeps its sockets open and answers nothing, like a hung node. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** FLUSHALL: every key gone, as after a restart without persistence. */
  flush(): Promise<void>;
  /** A connection of the test's own (no key prefix, like the runtime's). */
  readonly client: Redis;
  stop(): Promise<void>;
}

export const startPrivateRedis = async (): Promise<PrivateRedis> => {
  const dataDir = await mkdtemp(join(tmpdir(), "cqrs-faults-redis-"));
  // Persistent (append-only file in its own folder), as the runtime's own redis-server is.
  const running = await startRedisServer({ dataDir });
  const client = new Redis(running.url, { maxRetriesPerRequest: 2, lazyConnect: true });
  client.on("error", () => undefined);
  let paused = false;
  return {
    url: running.url,
    port: running.port,
    pid: running.pid,
    client,
    pause: () => {
      process.kill(running.pid, "SIGSTOP");
      paused = true;
    },
    resume: () => {
      process.kill(running.pid, "SIGCONT");
      paused = false;
    },
    flush: async () => {
      await client.flushall();
    },
    stop: async () => {
      if (paused) process.kill(running.pid, "SIGCONT");
      client.disconnect();
      await running.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
};
