import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from "../../local/runtime";
import type { PrivateDatabase, PrivatePostgresOptions } from "../support/private-servers";
import { expectedViews, privateServers, sleep, type Servers } from "./harness";

/**
 * Cases that reach into the runtime (inject at a queue, tap the topic) run it in the test's
 * own process, on the file's private servers, with the same checks as the others.
 */
export const credentials = { username: "faults", password: "in-process-pw" };
export const auth = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;

/** Starts a runtime in this process; without `dataDir`, on a new temporary one (the caller removes it). */
export const startInProcess = async (
  servers: Servers,
  database: PrivateDatabase,
  dataDir?: string,
  extra: Partial<LocalRuntimeOptions> = {},
): Promise<{ runtime: LocalRuntime; dataDir: string; logs: string[] }> => {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "cqrs-faults-")));
  const logs: string[] = [];
  const runtime = await startLocalRuntime({
    databaseUrl: database.url,
    redisUrl: servers.redis.url,
    dataDir: dir,
    port: 0,
    credentials,
    retryDelayMs: 50,
    maxRetryDelayMs: 1_000,
    readModelCheckMs: 500,
    log: (line) => logs.push(`${new Date().toISOString()} ${line}`),
    ...extra,
  });
  return { runtime, dataDir: dir, logs };
};

export interface InProcessCase {
  readonly servers: Servers;
  /** A fresh database of this case's own (the runtime under test migrates it). */
  readonly database: PrivateDatabase;
  /** Starts a runtime (on `dataDir` again for a restart); after the case every one is stopped and its data folder removed. */
  start(dataDir?: string, extra?: Partial<LocalRuntimeOptions>): Promise<{ runtime: LocalRuntime; dataDir: string; logs: string[] }>;
}

/**
 * Private servers for the calling test file, and for each case a fresh database and an
 * emptied Redis. Set FAULTS_VERBOSE=1 to see each case's runtime log.
 */
export const inProcessCases = (postgresOptions: PrivatePostgresOptions = {}): (() => InProcessCase) => {
  const servers = privateServers(postgresOptions);
  let database: PrivateDatabase | undefined;
  let runtimes: LocalRuntime[] = [];
  let logs: string[][] = [];
  const dataDirs = new Set<string>();
  beforeEach(async () => {
    database = await servers().postgres.database();
    await servers().redis.flush();
  });
  afterEach(async () => {
    if (process.env.FAULTS_VERBOSE) console.log(logs.map((lines) => lines.join("\n")).join("\n--- restart ---\n"));
    for (const runtime of runtimes) await runtime.stop();
    runtimes = [];
    logs = [];
    for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
    dataDirs.clear();
    await database?.drop();
    database = undefined;
  });
  return () => {
    if (database === undefined) throw new Error("no case is running");
    const current = database;
    return {
      servers: servers(),
      database: current,
      start: async (dataDir, extra) => {
        const started = await startInProcess(servers(), current, dataDir, extra);
        dataDirs.add(started.dataDir);
        runtimes.push(started.runtime);
        logs.push(started.logs);
        return started;
      },
    };
  };
};

export const placeOrder = async (runtime: LocalRuntime, body: unknown): Promise<number> => {
  const response = await fetch(`${runtime.url}/orders`, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
};

/** `count` orders over `concurrency` clients; each status is returned. */
export const placeOrders = async (runtime: LocalRuntime, count: number, concurrency: number, clients = [1, 2, 3]): Promise<number[]> => {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        statuses.push(
          await placeOrder(runtime, {
            id_client: clients[i % clients.length],
            products: [{ id_product: (i % 3) + 1, quantity: (i % 5) + 1 }],
          }),
        );
      }
    }),
  );
  return statuses;
};

/** What is wrong now: views against the SQL aggregate, the outbox, dead letters. */
export const problems = async (
  servers: Servers,
  database: PrivateDatabase,
  runtime: LocalRuntime,
  deadLetters = 0,
): Promise<string[]> => {
  const found: string[] = [];
  for (const view of await expectedViews(database)) {
    const response = await fetch(`${runtime.url}/clients/${view.id}`, { headers: { authorization: auth } });
    const body = (await response.json()) as Record<string, unknown>;
    const want = { name: view.name, email: view.email, total: view.totalCents / 100, last_purchase: view.lastPurchase };
    if (JSON.stringify(body) !== JSON.stringify(want)) found.push(`client ${view.id}: served ${JSON.stringify(body)}, SQL says ${JSON.stringify(want)}`);
    const count = Number(await servers.redis.client.hget(`client:{${view.id}}`, "order_count"));
    if (count !== view.orderCount) found.push(`client ${view.id}: order_count ${count}, SQL says ${view.orderCount}`);
  }
  const outbox = Number((await database.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]?.n);
  if (outbox !== 0) found.push(`${outbox} outbox row(s) never purged`);
  const letters = Number((await database.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM local_runtime.dead_letter")).rows[0]?.n);
  if (letters !== deadLetters) found.push(`${letters} dead letter(s), expected ${deadLetters}`);
  return found;
};

/** Polls `problems` until none are left or `timeoutMs` passed; returns the last list. */
export const settled = async (check: () => Promise<string[]>, timeoutMs = 30_000): Promise<string[]> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await check();
    if (found.length === 0 || Date.now() > deadline) return found;
    await sleep(200);
  }
};
