import { spawn } from "node:child_process";
import { mkdir, readFile, readlink } from "node:fs/promises";
import { connect } from "node:net";
import { basename, join, resolve as resolvePath } from "node:path";
import { freePort } from "./free-port";

export interface RunningRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  readonly port?: number;
  readonly binary?: string;
  /**
   * Keep the data in this folder (created if missing), in an append-only file, so an
   * ordinary restart finds the views again. Without it nothing is persisted.
   */
  readonly dataDir?: string;
  /**
   * Stop a redis-server still running on `dataDir` (its pidfile names a live redis-server)
   * before starting: an orphan left by a runtime that was SIGKILLed. Without it, such a
   * server is reported as an error instead.
   */
  readonly reclaimOrphan?: boolean;
}

const ORPHAN_GRACE_MS = 10_000;

const answersPing = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.setTimeout(500);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString().startsWith("+PONG"));
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pid a pidfile names, or undefined when there is none (or it is not a pid). */
const pidIn = async (pidfile: string): Promise<number | undefined> => {
  const text = await readFile(pidfile, "utf8").catch(() => "");
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
};

/**
 * Whether `pid` is a live redis-server serving `dir`. Redis rewrites its title to
 * "redis-server 127.0.0.1:6379", so the name is the first word of /proc/<pid>/cmdline; a
 * zombie's cmdline is empty. Redis runs in its `--dir`, so its cwd tells a recycled pid that
 * happens to be another redis-server apart (when we may read it).
 */
const isRedisServerOn = async (pid: number, dir: string, binary: string): Promise<boolean> => {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  const name = basename(cmdline.split(/[\0 ]/)[0] ?? "");
  if (name === "" || !(name.startsWith("redis-server") || name === basename(binary))) return false;
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  return cwd === undefined || resolvePath(cwd) === dir;
};

/** SIGTERM (Redis then finishes its AOF), SIGKILL after the grace period. */
const stopOrphan = async (pid: number, dir: string, binary: string): Promise<void> => {
  const gone = async () => !(await isRedisServerOn(pid, dir, binary));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + ORPHAN_GRACE_MS;
  while (Date.now() < deadline) {
    if (await gone()) return;
    await sleep(50);
  }
  signal("SIGKILL");
  for (let i = 0; i < 100 && !(await gone()); i++) await sleep(20);
  if (!(await gone())) throw new Error(`orphan redis-server ${pid} on ${dir} survived SIGKILL`);
};

/**
 * Starts a `redis-server` (from PATH) on a free loopback port. Without `dataDir` it is
 * throw-away, persistence off: the read model is always rebuildable from PostgreSQL
 * (`npm run reproject`). With `dataDir` it keeps an append-only file, fsynced every second:
 * Redis write()s each command to the file before it replies, so a crash of the process
 * loses nothing acknowledged (only a crash of the machine may lose the last second, and
 * the read model's generation then tells the runtime to rebuild).
 */
export const startRedisServer = async (options: RedisServerOptions = {}): Promise<RunningRedis> => {
  const binary = options.binary ?? process.env.REDIS_SERVER_BIN ?? "redis-server";
  const persistence: string[] = ["--save", "", "--appendonly", "no"];
  if (options.dataDir !== undefined) {
    const dir = resolvePath(options.dataDir);
    const pidfile = join(dir, "redis.pid");
    await mkdir(dir, { recursive: true });
    const pid = await pidIn(pidfile);
    if (pid !== undefined && (await isRedisServerOn(pid, dir, binary))) {
      if (!options.reclaimOrphan) throw new Error(`redis-server ${pid} is already running on ${dir}`);
      await stopOrphan(pid, dir, binary);
    }
    persistence.splice(0, persistence.length,
      "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--pidfile", pidfile);
  }
  const port = options.port ?? (await freePort());
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", ...persistence, "--protected-mode", "yes"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once("error", (error) =>
      reject(new Error(`could not start ${binary} (is redis-server on PATH?): ${error.message}`)),
    ),
  );
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const deadline = Date.now() + 10_000;
  const ready = (async (): Promise<void> => {
    while (!(await answersPing(port))) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`redis-server exited with ${child.exitCode ?? child.signalCode}: ${stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within 10 s`);
      await sleep(25);
    }
  })();
  // Whichever loses the race must not become an unhandled rejection.
  ready.catch(() => undefined);
  spawnError.catch(() => undefined);
  try {
    await Promise.race([ready, spawnError]);
  } catch (error) {
    // A server that did not come up must not hold the port or the data folder.
    process.removeListener("exit", killOnExit);
    child.kill("SIGKILL");
    throw error;
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener("exit", killOnExit);
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
};
