import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LoadResult } from "../support/load";
import {
  startPrivatePostgres,
  startPrivateRedis,
  type PrivateDatabase,
  type PrivatePostgres,
  type PrivatePostgresOptions,
  type PrivateRedis,
} from "../support/private-servers";
import { runtimeProcess, type Health, type RuntimeProcess } from "../support/runtime-process";

/**
 * The fault suite's frame: servers private to each test file, one fresh database (and an
 * emptied Redis) per case, the real runtime as a child process, and the checks every case
 * ends with once the system has settled.
 */

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export interface Servers {
  readonly postgres: PrivatePostgres;
  readonly redis: PrivateRedis;
}

/** Starts a private PostgreSQL 16 and redis-server for the calling test file. */
export const privateServers = (postgresOptions: PrivatePostgresOptions = {}): (() => Servers) => {
  let servers: Servers | undefined;
  beforeAll(async () => {
    const [postgres, redis] = await Promise.all([startPrivatePostgres(postgresOptions), startPrivateRedis()]);
    servers = { postgres, redis };
  }, 120_000);
  afterAll(async () => {
    await servers?.redis.stop().catch(() => undefined);
    await servers?.postgres.stop();
  }, 60_000);
  return () => {
    if (servers === undefined) throw new Error("the private servers did not start");
    return servers;
  };
};

export type Rebuild = NonNullable<Health["readModel"]["lastRebuild"]>;

export interface Case {
  readonly servers: Servers;
  readonly database: PrivateDatabase;
  readonly runtime: RuntimeProcess;
  /** Figures for the report (printed at the end of the case, passed or failed). */
  readonly figures: Record<string, unknown>;
  /** Times (ms) at which the case wiped Redis: only these may be followed by a rebuild. */
  readonly wipes: number[];
  /** Aborted when the case ends: loads and watchers stop with it. */
  readonly signal: AbortSignal;
}

const credentials = { username: "faults", password: "f4ults-pw" };

/**
 * One fault case: its own database, an empty Redis, a runtime (not started: the case
 * starts it), its own deadline (below jest's, so the runtime's output is still reported),
 * and the output of every lifetime attached to the error when it fails.
 */
export const faultCase = (
  name: string,
  timeoutMs: number,
  servers: () => Servers,
  body: (c: Case) => Promise<void>,
  env: Readonly<Record<string, string>> = {},
): void => {
  it(
    name,
    async () => {
      const { postgres, redis } = servers();
      redis.resume();
      await redis.flush();
      const database = await postgres.database();
      const dataDir = await mkdtemp(join(tmpdir(), "cqrs-faults-data-"));
      const runtime = runtimeProcess({ databaseUrl: database.url, redisUrl: redis.url, dataDir, credentials, env });
      const abort = new AbortController();
      const c: Case = { servers: servers(), database, runtime, figures: {}, wipes: [], signal: abort.signal };
      const started = Date.now();
      const budget = timeoutMs - 20_000;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          body(c),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`the case did not finish within its budget of ${budget} ms`)), budget);
          }),
        ]);
      } catch (error) {
        const file = join(tmpdir(), `cqrs-faults-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}-${Date.now()}.log`);
        await writeFile(file, `${runtime.output()}\n\n===== PostgreSQL log (tail) =====\n${postgres.log()}\n`).catch(() => undefined);
        const tail = runtime.output().split("\n").slice(-150).join("\n");
        const lifetimes = runtime.lifetimes.map((l) => ({ pid: l.pid, exit: l.exit, signalled: l.signalled, rebuilds: l.rebuilds, unhealthy: l.unhealthy.length }));
        const detail =
          `\n\nfigures: ${JSON.stringify(c.figures)}\nlifetimes: ${JSON.stringify(lifetimes)}\n` +
          `runtime output, last 150 lines (all of it, and PostgreSQL's log, in ${file}):\n${tail}`;
        if (typeof error === "object" && error !== null && typeof (error as Error).message === "string") {
          (error as Error).message += detail;
          throw error;
        }
        throw new Error(`${String(error)}${detail}`);
      } finally {
        clearTimeout(timer);
        abort.abort();
        c.figures.caseMs = Date.now() - started;
        c.figures.lifetimes = runtime.lifetimes.length;
        console.log(`[faults] ${name}: ${JSON.stringify(c.figures)}`);
        await runtime.dispose();
        redis.resume();
        await database.drop().catch(() => undefined);
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    timeoutMs,
  );
};

export interface ExpectedView {
  readonly id: number;
  readonly name: string;
  readonly email: string;
  readonly totalCents: number;
  readonly orderCount: number;
  readonly lastPurchase: number;
}

/** Every client view as the command database says it must be: one SQL aggregate. */
export const expectedViews = async (database: PrivateDatabase): Promise<ExpectedView[]> => {
  const { rows } = await database.pool.query<{ id: number; name: string; email: string; total_cents: number; order_count: number; last_purchase: number }>(
    `SELECT c.id, c.name, c.email, sum(o.total_cents)::bigint AS total_cents, count(*)::int AS order_count,
            floor(extract(epoch FROM max(o.placed_at)))::bigint AS last_purchase
       FROM client c JOIN "order" o ON o.client_id = c.id
      GROUP BY c.id ORDER BY c.id`,
  );
  return rows.map((r) => ({ id: r.id, name: r.name, email: r.email, totalCents: r.total_cents, orderCount: r.order_count, lastPurchase: r.last_purchase }));
};

export const getClient = async (runtime: RuntimeProcess, id: number, timeoutMs = 5_000): Promise<{ status: number; body: Record<string, unknown> }> => {
  const url = runtime.url();
  if (url === undefined) throw new Error("the runtime is not running");
  const response = await fetch(`${url}/clients/${id}`, { headers: { authorization: runtime.auth }, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: response.status, body: { unparsed: text.slice(0, 200) } };
  }
};

/** What GET /clients/{id} must answer for this aggregate. */
export const viewBody = (view: ExpectedView) => ({ name: view.name, email: view.email, total: view.totalCents / 100, last_purchase: view.lastPurchase });

export const sameView = (body: Record<string, unknown>, view: ExpectedView): boolean => {
  const want = viewBody(view);
  return body.name === want.name && body.email === want.email && body.total === want.total && body.last_purchase === want.last_purchase;
};

const count = async (database: PrivateDatabase, sql: string): Promise<number | string> => {
  try {
    const { rows } = await database.pool.query<{ n: number }>(sql);
    return Number(rows[0]?.n);
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  }
};

export interface SettleOptions {
  /** `count(*)` of "order" must equal this. */
  readonly orders?: number;
  /** Rows the case itself put in local_runtime.dead_letter (default 0). */
  readonly deadLetters?: number;
  /** How long the system may take to settle (default 60 s). */
  readonly timeoutMs?: number;
}

/** Rebuilds no detected wipe explains: any with clients > 0 not preceded (in this case) by a wipe. */
const unexplainedRebuilds = (c: Case): string[] => {
  const problems: string[] = [];
  let wipesLeft = [...c.wipes];
  for (const lifetime of c.runtime.lifetimes) {
    if (lifetime.rebuildCount > lifetime.rebuilds.length)
      problems.push(`lifetime ${lifetime.index} reported ${lifetime.rebuildCount} rebuild(s), but only ${lifetime.rebuilds.length} were seen in its health answers`);
    for (const rebuild of lifetime.rebuilds) {
      if (rebuild.clients === 0) continue;
      const at = Date.parse(rebuild.at);
      const wipe = wipesLeft.find((w) => w <= at + 1_000);
      if (wipe !== undefined) {
        wipesLeft = wipesLeft.filter((w) => w !== wipe);
        continue;
      }
      problems.push(`lifetime ${lifetime.index} rebuilt the read model with no wipe to explain it: ${JSON.stringify(rebuild)}`);
    }
  }
  return problems;
};

/** For a view that is off: how the applied markers in Redis compare with the orders. */
const markerReport = async (c: Case): Promise<string> => {
  try {
    const { rows } = await c.database.pool.query<{ event_id: string }>(`SELECT event_id::text FROM "order"`);
    const orders = new Set(rows.map((r) => r.event_id.toLowerCase()));
    const markers = (await c.servers.redis.client.keys("applied:*")).map((key) => key.split(":").slice(2).join(":"));
    const foreign = markers.filter((id) => !orders.has(id));
    const applied = new Set(markers);
    const missing = [...orders].filter((id) => !applied.has(id));
    return (
      `(diagnosis) Redis holds ${markers.length} applied marker(s) for ${orders.size} order(s): ` +
      `${foreign.length} name no order (${foreign.slice(0, 3).join(", ")}), ${missing.length} order(s) have none (${missing.slice(0, 3).join(", ")}); ` +
      `generation ${await c.servers.redis.client.get("readmodel:generation")}`
    );
  } catch (error) {
    return `(diagnosis failed: ${String(error)})`;
  }
};

/** Everything that is wrong right now; empty once the system has settled correctly. */
export const inspect = async (c: Case, options: SettleOptions = {}): Promise<string[]> => {
  const problems: string[] = [];
  const { database, runtime, servers } = c;
  const expected = await expectedViews(database);
  if (expected.length === 0) problems.push("no client has an order: the case placed nothing");
  if (runtime.url() === undefined) problems.push("the runtime is not running");
  else {
    for (const view of expected) {
      const got = await getClient(runtime, view.id).catch((error: unknown) => ({ status: -1, body: { error: String(error) } }));
      if (got.status !== 200 || !sameView(got.body, view))
        problems.push(`client ${view.id}: GET answered ${got.status} ${JSON.stringify(got.body)}, the orders say ${JSON.stringify(viewBody(view))}`);
    }
  }
  for (const view of expected) {
    const orderCount = await servers.redis.client.hget(`client:{${view.id}}`, "order_count").catch((error: unknown) => `failed: ${String(error)}`);
    if (orderCount !== String(view.orderCount)) problems.push(`client ${view.id}: order_count in Redis is ${orderCount}, the orders say ${view.orderCount}`);
  }
  if (problems.some((p) => p.includes("order_count") || p.includes("GET answered"))) problems.push(await markerReport(c));
  const outbox = await count(database, "SELECT count(*)::int AS n FROM outbox");
  if (outbox !== 0) {
    const rows = await database.pool
      .query<{ id: string; occurred_at: Date; xmin: string }>("SELECT id, occurred_at, xmin FROM outbox ORDER BY occurred_at LIMIT 5")
      .then((r) => r.rows.map((row) => `${row.id} at ${row.occurred_at.toISOString()} (xmin ${row.xmin})`).join(", "))
      .catch((error: unknown) => String(error));
    const slot = await database.pool
      .query("SELECT slot_name, active, restart_lsn, confirmed_flush_lsn, pg_current_wal_lsn() AS current FROM pg_replication_slots WHERE database = current_database()")
      .then((r) => JSON.stringify(r.rows))
      .catch((error: unknown) => String(error));
    problems.push(`outbox holds ${outbox} row(s): their events were never purged (first: ${rows}; slot ${slot})`);
  }
  if (options.orders !== undefined) {
    const orders = await count(database, `SELECT count(*)::int AS n FROM "order"`);
    if (orders !== options.orders) problems.push(`"order" holds ${orders} row(s), ${options.orders} were placed`);
  }
  const deadLetters = await count(database, "SELECT count(*)::int AS n FROM local_runtime.dead_letter");
  if (deadLetters !== (options.deadLetters ?? 0)) {
    const sample = await database.pool
      .query("SELECT queue, receive_count, last_error, first_received_at, dead_lettered_at FROM local_runtime.dead_letter ORDER BY id LIMIT 3")
      .then((r) => JSON.stringify(r.rows))
      .catch((error: unknown) => String(error));
    problems.push(`local_runtime.dead_letter holds ${deadLetters} row(s), expected ${options.deadLetters ?? 0}: ${sample}`);
  }
  const quarantined = await count(database, "SELECT count(*)::int AS n FROM local_runtime.quarantine");
  if (quarantined !== 0) problems.push(`local_runtime.quarantine holds ${quarantined} row(s)`);
  if (runtime.url() !== undefined) {
    try {
      const { status, body } = await runtime.health();
      if (status !== 200 || body.healthy !== true) problems.push(`health answered ${status}, healthy ${body.healthy}, down ${JSON.stringify(body.down)}`);
      for (const queue of ["projection", "outbox-purge"]) {
        const q = body.queues?.[queue];
        if (q === undefined) problems.push(`health reports no queue ${queue}`);
        else if (q.depth !== 0 || q.inFlight !== 0 || q.deadLetters !== (queue === "projection" ? (options.deadLetters ?? 0) : 0))
          problems.push(`health: queue ${queue} ${JSON.stringify(q)}`);
      }
      if (body.quarantine?.size !== 0) problems.push(`health: quarantine ${JSON.stringify(body.quarantine)}`);
    } catch (error) {
      problems.push(`health: ${String(error)}`);
    }
  }
  problems.push(...unexplainedRebuilds(c));
  for (const lifetime of runtime.lifetimes)
    if (lifetime.exit !== undefined && lifetime.signalled === undefined)
      problems.push(`lifetime ${lifetime.index} (pid ${lifetime.pid}) exited by itself: ${JSON.stringify(lifetime.exit)}`);
  return problems;
};

/**
 * Polls until the system has settled (every check passes), up to `timeoutMs`, and returns
 * what is still wrong (empty when settled). Records how long it took in the figures.
 */
export const settled = async (c: Case, options: SettleOptions = {}): Promise<string[]> => {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const look = () => inspect(c, options).catch((error: unknown) => [`the checks themselves failed: ${String(error)}`]);
  let problems = await look();
  // A system with nothing in flight whose problems have not changed for 20 s will not
  // repair itself (retries back off to 1 s here): stop waiting then, and report them.
  let unchangedSince = Date.now();
  const idle = async () => {
    const { body } = await c.runtime.health();
    return Object.values(body.queues ?? {}).every((q) => q.depth === 0 && q.inFlight === 0) && body.slot?.pendingTransactions === 0;
  };
  while (problems.length > 0 && Date.now() - started < timeoutMs && c.runtime.alive()) {
    await sleep(500);
    const previous = JSON.stringify(problems);
    problems = await look();
    if (JSON.stringify(problems) !== previous) unchangedSince = Date.now();
    else if (Date.now() - unchangedSince > 20_000 && (await idle().catch(() => false))) {
      c.figures.stuck = "nothing in flight, the same problems for 20 s";
      break;
    }
  }
  const settleMs = Date.now() - started;
  const settles = (c.figures.settleMs as number[] | undefined) ?? [];
  settles.push(settleMs);
  c.figures.settleMs = settles;
  if (problems.length > 0) c.figures.problemsAfterSettle = problems.length;
  return problems;
};

/** `settled`, then asserts that nothing is wrong. */
export const settle = async (c: Case, options: SettleOptions = {}): Promise<void> => {
  expect(await settled(c, options)).toEqual([]);
};

/** The load went through: every order placed exactly once, no answer but those allowed. */
export const expectLoad = (c: Case, result: LoadResult, orders: number, allowedStatuses: ReadonlyArray<number> = [200]): void => {
  c.figures.ordersPlaced = (Number(c.figures.ordersPlaced ?? 0) || 0) + result.placed.length;
  c.figures.loadMs = result.durationMs;
  c.figures.retries = result.retries;
  c.figures.replays = result.replays;
  c.figures.statuses = result.statuses;
  c.figures.lostAnswers = result.lostAnswers;
  expect(result.failed).toEqual([]);
  expect(result.placed).toHaveLength(orders);
  expect(new Set(result.placed.map((p) => p.orderId)).size).toBe(orders);
  expect(Object.keys(result.statuses).map(Number).filter((status) => !allowedStatuses.includes(status))).toEqual([]);
};

export const outboxRows = async (c: Case): Promise<number> =>
  Number((await c.database.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]?.n);

/** Waits until `condition` holds (polling), or throws after `timeoutMs`. */
export const until = async (what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
};
