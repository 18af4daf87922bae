import { spawn, type ChildProcess } from "node:child_process";
import { get as httpGet } from "node:http";
import { resolve } from "node:path";

/**
 * The local runtime as a child process, started exactly as `npm start` starts it but
 * without the tsx CLI in between (`node --import tsx local/main.ts`), so a signal reaches
 * the runtime itself: a SIGKILL kills it, with no wrapper left to tidy up.
 */

const REPO_ROOT = resolve(__dirname, "..", "..");

export interface RuntimeProcessOptions {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** LOCAL_DATA_DIR: the same folder for every lifetime of one case. */
  readonly dataDir: string;
  readonly credentials: { readonly username: string; readonly password: string };
  /** More variables (they win over the defaults below). */
  readonly env?: Readonly<Record<string, string>>;
  /** How long a start may take, banner and health included. */
  readonly startTimeoutMs?: number;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** GET /_local/health, as the runtime describes itself. */
export interface Health {
  readonly healthy: boolean;
  readonly down: ReadonlyArray<string>;
  readonly slot: {
    readonly name: string;
    readonly confirmedLsn: string | null;
    readonly currentWalLsn: string | null;
    readonly lagBytes: number | null;
    readonly lagSeconds: number | null;
    readonly retainedWalBytes: number | null;
    readonly pendingTransactions: number;
    readonly streaming: boolean;
  };
  readonly queues: Readonly<Record<string, { readonly depth: number; readonly inFlight: number; readonly deadLetters: number }>>;
  readonly quarantine: { readonly size: number };
  readonly readModel: {
    readonly generation: string | null;
    readonly rebuilds: number;
    readonly lastRebuild: null | { readonly at: string; readonly reason: string; readonly clients: number; readonly durationMs: number };
  };
  readonly startedAt: string;
}

/** What one process lifetime told about itself. */
export interface Lifetime {
  readonly index: number;
  readonly pid: number;
  url: string | undefined;
  /** Distinct rebuilds seen in its health answers (by `at`), in order. */
  readonly rebuilds: Array<NonNullable<Health["readModel"]["lastRebuild"]>>;
  /** The highest `readModel.rebuilds` it reported. */
  rebuildCount: number;
  /** Health answers with status 503, and what they said was down. */
  readonly unhealthy: Array<{ readonly at: number; readonly down: ReadonlyArray<string> }>;
  /** Health requests that got no answer (timeouts, refused connections) while it ran. */
  readonly healthErrors: Array<{ readonly at: number; readonly error: string }>;
  exit: Exit | undefined;
  /** The signal the test sent it, if any. */
  signalled: NodeJS.Signals | undefined;
}

export interface RuntimeProcess {
  /** The current lifetime's API URL (undefined between a death and the next banner). */
  url(): string | undefined;
  readonly auth: string;
  /** Starts a lifetime: resolves once the banner is printed and health answers. */
  start(): Promise<void>;
  /** Sends a signal to the current lifetime (a health snapshot is taken first, best effort). */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Waits for the current lifetime to exit. Rejects after `timeoutMs`. */
  waitExit(timeoutMs?: number): Promise<Exit>;
  /** SIGTERM (or `signal`), wait for the exit, start again. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  /** Is the current lifetime running? */
  alive(): boolean;
  /** GET /_local/health of the current lifetime, recorded into its lifetime. */
  health(): Promise<{ status: number; body: Health }>;
  readonly lifetimes: ReadonlyArray<Lifetime>;
  /** Everything the processes printed (stdout and stderr, every lifetime). */
  output(): string;
  /** Kills whatever still runs (SIGKILL after a grace period), stops the health monitor. */
  dispose(): Promise<void>;
}

const MAX_OUTPUT = 4 * 1024 * 1024;
const BANNER = /cqrs-outbox is running \((\d+) ms\): (http:\/\/127\.0\.0\.1:\d+)/;

// Unref: a deadline that was not needed must not keep the test process alive.
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms).unref());

/**
 * One GET on a connection of its own, closed afterwards: the harness's polling must not hold
 * a keep-alive connection open, which a graceful stop would wait for.
 */
const getOnce = (url: string, timeoutMs: number): Promise<{ status: number; text: string }> =>
  new Promise((resolveGet, reject) => {
    const request = httpGet(url, { agent: false, timeout: timeoutMs }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolveGet({ status: response.statusCode ?? 0, text }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
  });

const living = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of living) child.kill("SIGKILL");
});

export const runtimeProcess = (options: RuntimeProcessOptions): RuntimeProcess => {
  const { username, password } = options.credentials;
  const auth = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  const lifetimes: Lifetime[] = [];
  let buffer = "";
  let child: ChildProcess | undefined;
  let exited: Promise<Exit> | undefined;
  let monitor: NodeJS.Timeout | undefined;
  const append = (text: string) => {
    buffer += text;
    if (buffer.length > MAX_OUTPUT) buffer = `[... earlier output dropped ...]\n${buffer.slice(buffer.length - MAX_OUTPUT / 2)}`;
  };
  const current = (): Lifetime | undefined => lifetimes[lifetimes.length - 1];

  const record = (lifetime: Lifetime, status: number, body: Health) => {
    const rebuild = body.readModel?.lastRebuild;
    if (rebuild && !lifetime.rebuilds.some((seen) => seen.at === rebuild.at)) lifetime.rebuilds.push(rebuild);
    if (typeof body.readModel?.rebuilds === "number") lifetime.rebuildCount = Math.max(lifetime.rebuildCount, body.readModel.rebuilds);
    if (status === 503) lifetime.unhealthy.push({ at: Date.now(), down: body.down ?? [] });
  };

  const fetchHealth = async (lifetime: Lifetime, timeoutMs: number): Promise<{ status: number; body: Health }> => {
    if (lifetime.url === undefined) throw new Error("the runtime has no URL yet");
    const { status, text } = await getOnce(`${lifetime.url}/_local/health`, timeoutMs);
    let body: Health;
    try {
      body = JSON.parse(text) as Health;
    } catch {
      throw new Error(`health answered ${status} with no JSON: ${text.slice(0, 200)}`);
    }
    record(lifetime, status, body);
    return { status, body };
  };

  const start = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) throw new Error("the runtime is already running");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: "0",
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      LOCAL_DATA_DIR: options.dataDir,
      API_USER: username,
      API_PASSWORD: password,
      LOCAL_RETRY_DELAY_MS: "50",
      LOCAL_MAX_RETRY_DELAY_MS: "1000",
      POWERTOOLS_LOG_LEVEL: "WARN",
      ...options.env,
    };
    const spawned = spawn(process.execPath, ["--import", "tsx", "local/main.ts"], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    child = spawned;
    living.add(spawned);
    const lifetime: Lifetime = {
      index: lifetimes.length,
      pid: spawned.pid ?? -1,
      url: undefined,
      rebuilds: [],
      rebuildCount: 0,
      unhealthy: [],
      healthErrors: [],
      exit: undefined,
      signalled: undefined,
    };
    lifetimes.push(lifetime);
    append(`\n===== lifetime ${lifetime.index} (pid ${lifetime.pid}) started at ${new Date().toISOString()} =====\n`);
    let banner: ((url: string) => void) | undefined;
    const bannerSeen = new Promise<string>((resolveBanner) => (banner = resolveBanner));
    let stdoutTail = "";
    spawned.stdout?.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      append(text);
      stdoutTail = (stdoutTail + text).slice(-4096);
      const match = BANNER.exec(stdoutTail);
      if (match && lifetime.url === undefined) {
        lifetime.url = match[2];
        banner?.(match[2] as string);
      }
    });
    spawned.stderr?.on("data", (chunk: Buffer) => append(chunk.toString()));
    exited = new Promise<Exit>((resolveExit) =>
      spawned.once("exit", (code, signal) => {
        living.delete(spawned);
        lifetime.exit = { code, signal };
        append(`\n===== lifetime ${lifetime.index} exited: code ${code} signal ${signal} at ${new Date().toISOString()} =====\n`);
        resolveExit({ code, signal });
      }),
    );
    const startTimeout = options.startTimeoutMs ?? 60_000;
    const deadline = Date.now() + startTimeout;
    const died = exited.then((exit) => {
      throw new Error(`the runtime exited during its start (code ${exit.code}, signal ${exit.signal})`);
    });
    died.catch(() => undefined);
    const timeout = sleep(startTimeout).then(() => {
      throw new Error(`no banner within ${startTimeout} ms`);
    });
    timeout.catch(() => undefined);
    await Promise.race([bannerSeen, died, timeout]);
    // Health answers (200, or 503 while a dependency is down) once the API is up.
    for (;;) {
      try {
        const { status } = await fetchHealth(lifetime, 2_000);
        if (status === 200 || status === 503) break;
      } catch (error) {
        if (lifetime.exit !== undefined) throw new Error(`the runtime exited during its start (code ${lifetime.exit.code}, signal ${lifetime.exit.signal})`);
        if (Date.now() > deadline) throw new Error(`health did not answer within ${startTimeout} ms: ${String(error)}`);
      }
      await sleep(100);
    }
    // Every lifetime is watched, so a rebuild it reports is seen even if it dies soon after.
    if (monitor === undefined) {
      monitor = setInterval(() => {
        const watched = current();
        if (watched && watched.exit === undefined && watched.url !== undefined && watched.signalled === undefined)
          fetchHealth(watched, 1_000).catch((error: unknown) => {
            if (watched.exit === undefined && watched.signalled === undefined) watched.healthErrors.push({ at: Date.now(), error: String(error) });
          });
      }, 250);
      monitor.unref();
    }
  };

  const waitExit = async (timeoutMs = 30_000): Promise<Exit> => {
    if (exited === undefined) throw new Error("the runtime was never started");
    const timeout = sleep(timeoutMs).then(() => {
      throw new Error(`the runtime did not exit within ${timeoutMs} ms`);
    });
    timeout.catch(() => undefined);
    return Promise.race([exited, timeout]);
  };

  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    const lifetime = current();
    if (!alive() || lifetime === undefined) throw new Error(`cannot send ${signal}: the runtime is not running`);
    // What the lifetime reports last (a rebuild, say) is taken before it goes.
    await fetchHealth(lifetime, 500).catch(() => undefined);
    lifetime.signalled = signal;
    append(`\n===== test sends ${signal} to lifetime ${lifetime.index} at ${new Date().toISOString()} =====\n`);
    child?.kill(signal);
  };

  return {
    url: () => {
      const lifetime = current();
      return lifetime && lifetime.exit === undefined ? lifetime.url : undefined;
    },
    auth,
    start,
    kill,
    waitExit,
    alive,
    restart: async (signal = "SIGTERM") => {
      await kill(signal);
      await waitExit(30_000);
      await start();
    },
    health: () => {
      const lifetime = current();
      if (lifetime === undefined) return Promise.reject(new Error("the runtime was never started"));
      return fetchHealth(lifetime, 5_000);
    },
    lifetimes,
    output: () => buffer,
    dispose: async () => {
      if (monitor !== undefined) clearInterval(monitor);
      monitor = undefined;
      if (!alive()) return;
      child?.kill("SIGTERM");
      try {
        await waitExit(15_000);
      } catch {
        child?.kill("SIGKILL");
        await waitExit(5_000).catch(() => undefined);
      }
    },
  };
};
