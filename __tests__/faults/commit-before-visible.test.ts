import { Client } from "pg";
import { createClientViewStore, GENERATION_KEY } from "../../adapters/redis/client-view-store.redis";
import { connectRedis } from "../../adapters/redis/connection";
import { reprojectAll } from "../../handlers/support/reproject-views";
import type { PrivateDatabase } from "../support/private-servers";
import { orderPlacedRow } from "../../bench/system/cdc";
import { sleep, until } from "./harness";
import { inProcessCases, placeOrders, problems, settled } from "./in-process";

/**
 * PostgreSQL writes, and so streams, a transaction's commit record before other sessions can
 * see its rows. A synchronous standby that never answers holds a transaction in that moment
 * for as long as a case needs: its commit is in the log and reaches the tailer, and its rows
 * stay invisible until the wait is cancelled (it stays committed). Every other session
 * commits locally (`synchronous_commit = local`); the held one asks for the standby.
 *
 * The events go on at once; only what reads or deletes the rows waits: the purge (a DELETE
 * of an invisible row finds nothing, and the row would stay for ever) and a rebuild (a read
 * that misses an event already applied would lose it).
 */
const inCase = inProcessCases({ settings: { synchronous_standby_names: "nobody", synchronous_commit: "local" } });

interface Held {
  readonly eventId: string;
  readonly clientId: number;
  /** Cancels the standby wait: the transaction's rows become visible. */
  release(): Promise<void>;
}

/** One order and its OrderPlaced event (the bench's CDC row), committed and held invisible. */
const holdOrder = async (database: PrivateDatabase): Promise<Held> => {
  const session = new Client({ connectionString: database.url });
  session.on("error", () => undefined);
  await session.connect();
  const pid = (await session.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
  await session.query("SET synchronous_commit = on");
  const row = orderPlacedRow(1);
  const committed = session.query(row.query);
  committed.catch(() => undefined);
  const waiting = async () =>
    (await database.pool.query<{ wait_event: string | null }>("SELECT wait_event FROM pg_stat_activity WHERE pid = $1", [pid])).rows[0]?.wait_event === "SyncRep";
  await until("the held commit to wait for the standby", waiting, 15_000);
  return {
    eventId: row.eventId,
    clientId: row.clientId,
    release: async () => {
      await database.pool.query("SELECT pg_cancel_backend($1)", [pid]);
      await committed;
      await session.end();
    },
  };
};

const visibleOrders = async (database: PrivateDatabase, eventId: string): Promise<number> =>
  Number((await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "order" WHERE event_id = $1`, [eventId])).rows[0]?.n);

/** A runtime that placed a few orders, all settled. */
const runtimeWithOrders = async () => {
  const { servers, database, start } = inCase();
  const { runtime, logs } = await start();
  expect((await placeOrders(runtime, 6, 2)).filter((s) => s !== 200)).toEqual([]);
  expect(await settled(() => problems(servers, database, runtime))).toEqual([]);
  return { servers, database, runtime, logs };
};

describe("a transaction whose commit is streamed before its rows are visible", () => {
  it("reaches the view at once, and is purged only once its row is visible", async () => {
    const { servers, database, runtime } = await runtimeWithOrders();
    const held = await holdOrder(database);
    const marker = `applied:{${held.clientId}}:${held.eventId}`;
    await until("the held event in the view", async () => (await servers.redis.client.exists(marker)) === 1, 15_000);
    // Applied while nobody else can see its order: the view does not wait for that.
    expect(await visibleOrders(database, held.eventId)).toBe(0);
    // Its purge waits meanwhile (a DELETE now would find nothing, and count as done).
    await sleep(1_000);
    expect(runtime.queues["outbox-purge"].depth()).toBe(1);
    expect(await visibleOrders(database, held.eventId)).toBe(0);

    await held.release();
    expect(await visibleOrders(database, held.eventId)).toBe(1);
    // Purged now, and every view exact: nothing repaired it, the read model was never rebuilt.
    expect(await settled(() => problems(servers, database, runtime))).toEqual([]);
    expect((await runtime.health()).readModel.rebuilds).toBe(1);
  }, 90_000);

  it("holds the runtime's rebuild until the event it applied is visible, so the rebuilt view keeps it", async () => {
    const { servers, database, runtime, logs } = await runtimeWithOrders();
    const held = await holdOrder(database);
    await until("the held event in the view", async () => (await servers.redis.client.exists(`applied:{${held.clientId}}:${held.eventId}`)) === 1, 15_000);
    // Redis loses its data: the guard rebuilds from SQL, which cannot see the held order yet.
    await servers.redis.flush();
    await until("the rebuild to start", () => logs.some((line) => line.includes("read model lost")), 15_000);
    await sleep(1_500);
    expect(await servers.redis.client.exists(GENERATION_KEY)).toBe(0);
    expect((await runtime.health()).readModel.rebuilds).toBe(1);

    await held.release();
    expect(await settled(() => problems(servers, database, runtime))).toEqual([]);
    expect((await runtime.health()).readModel.rebuilds).toBe(2);
  }, 90_000);

  it("holds `npm run reproject` (reprojectAll, out of the runtime) until transactions in progress end", async () => {
    // A runtime migrates, seeds and places some orders; then it stops, as the rebuild runs alone here.
    const { servers, database, runtime } = await runtimeWithOrders();
    await runtime.stop();

    const held = await holdOrder(database);
    const redis = await connectRedis({ kind: "url", url: servers.redis.url });
    try {
      let done = false;
      const rebuild = reprojectAll({ db: database.db, views: createClientViewStore(redis) }).finally(() => (done = true));
      await sleep(1_500);
      expect(done).toBe(false);
      await held.release();
      const summary = await rebuild;
      expect(summary.clients).toBeGreaterThan(0);
      // The held order is in its client's view.
      const { rows } = await database.pool.query<{ n: number; total: string }>(
        `SELECT count(*)::int AS n, sum(total_cents)::text AS total FROM "order" WHERE client_id = $1`,
        [held.clientId],
      );
      expect(await redis.hget(`client:{${held.clientId}}`, "order_count")).toBe(String(rows[0]?.n));
      expect(await redis.hget(`client:{${held.clientId}}`, "total_cents")).toBe(rows[0]?.total);
    } finally {
      redis.disconnect();
    }
  }, 90_000);
});
