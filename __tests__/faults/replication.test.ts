import { randomInt } from "node:crypto";
import { makePlaceOrderHandler, placeOrderDeps } from "../../handlers/place-order";
import { postOrder } from "../support/api-gateway";
import { randomOrder, runLoad } from "../support/load";
import { expectLoad, faultCase, outboxRows, privateServers, settle, settled, sleep, until, type Case } from "./harness";

/**
 * Faults on the replication side: the walsender killed under the tailer, commits racing
 * each other from many writers across restarts, and an idle outbox in a busy database,
 * whose slot must not hold the database's WAL.
 */
const servers = privateServers();

const slot = async (c: Case) =>
  (
    await c.database.pool.query<{ active: boolean; active_pid: number | null; retained: number; confirmed_flush_lsn: string }>(
      `SELECT active, active_pid, (pg_current_wal_lsn() - restart_lsn)::bigint AS retained, confirmed_flush_lsn
         FROM pg_replication_slots WHERE database = current_database()`,
    )
  ).rows[0];

faultCase("the walsender terminated 3 times under load, with no runtime restart", 180_000, servers, async (c) => {
  const { runtime, database } = c;
  await runtime.start();
  const orders = 450;
  let placed = 0;
  const load = runLoad({ url: runtime.url, auth: runtime.auth, orders, concurrency: 6, pauseBetweenMs: 10, signal: c.signal, onPlaced: (n) => void (placed = n) });
  const terminations: Array<{ placed: number; pid: number; outbox: number; reconnectMs: number }> = [];
  c.figures.terminations = terminations;
  for (const moment of [100, 200, 300]) {
    await until(`order ${moment} to be placed`, () => placed >= moment, 60_000);
    await sleep(randomInt(100));
    // The tailer may be between two connections: wait for one to terminate.
    let pid = 0;
    await until(
      "an active walsender to terminate",
      async () => {
        const { rows } = await database.pool.query<{ pid: number; terminated: boolean }>(
          `SELECT active_pid AS pid, pg_terminate_backend(active_pid) AS terminated
             FROM pg_replication_slots WHERE database = current_database() AND active_pid IS NOT NULL`,
        );
        pid = rows.find((row) => row.terminated)?.pid ?? 0;
        return pid !== 0;
      },
      10_000,
    );
    const terminated = Date.now();
    const outbox = await outboxRows(c);
    await until("the tailer to reconnect", async () => {
      const now = await slot(c);
      return now?.active_pid != null && now.active_pid !== pid;
    }, 30_000);
    terminations.push({ placed, pid, outbox, reconnectMs: Date.now() - terminated });
  }
  const result = await load;
  expectLoad(c, result, orders);
  expect(runtime.lifetimes).toHaveLength(1);
  expect(runtime.alive()).toBe(true);
  await settle(c, { orders });
  expect(runtime.lifetimes).toHaveLength(1);
});

faultCase("back-to-back commits from 16 writers, then runtime restarts", 180_000, servers, async (c) => {
  const { runtime, database } = c;
  await runtime.start();
  // The order service writing on its own (as the Lambdas do on AWS), 16 at a time, with
  // no pause: commits end where the next begins, which an off-by-one acknowledgement skips.
  const place = makePlaceOrderHandler(async () => placeOrderDeps(database.db));
  const writers = 16;
  const perWriter = 30;
  let placed = 0;
  const failures: string[] = [];
  const writing = Promise.all(
    Array.from({ length: writers }, async () => {
      for (let i = 0; i < perWriter; i++) {
        const response = await place(postOrder(randomOrder()));
        if (response.statusCode === 200) placed++;
        else failures.push(`${response.statusCode} ${response.body}`);
      }
    }),
  );
  // One restart while the writers write, one once they are done and the stream still runs.
  await until("half of the orders to be placed", () => placed >= (writers * perWriter) / 2, 60_000, 2);
  c.figures.outboxAtFirstRestart = await outboxRows(c);
  await runtime.restart("SIGTERM");
  await writing;
  c.figures.outboxAtSecondRestart = await outboxRows(c);
  await runtime.restart("SIGTERM");
  c.figures.ordersPlaced = placed;
  expect(failures).toEqual([]);
  expect(placed).toBe(writers * perWriter);
  expect(runtime.lifetimes.map((l) => l.exit?.code ?? "running")).toEqual([0, 0, "running"]);
  await settle(c, { orders: writers * perWriter });
});

faultCase("an idle outbox in a busy database: the slot holds under 16 MB of WAL within 60 s", 240_000, servers, async (c) => {
  const { runtime, database } = c;
  await runtime.start();
  const orders = 200;
  expectLoad(c, await runLoad({ url: runtime.url, auth: runtime.auth, orders, concurrency: 6, signal: c.signal }), orders);
  // Asserted at the end, so the WAL is measured whatever this says.
  const beforeFiller = await settled(c, { orders });
  // ~100 MB of WAL that is none of the outbox's business, in batches of ~5 MB.
  await database.pool.query("CREATE TABLE filler (x text)");
  const wal = async () => Number((await database.pool.query<{ lsn: number }>("SELECT (pg_current_wal_lsn() - '0/0')::bigint AS lsn")).rows[0]?.lsn);
  const from = await wal();
  const fillerStarted = Date.now();
  const target = 100 * 1024 * 1024;
  let batches = 0;
  while ((await wal()) - from < target) {
    await database.pool.query("INSERT INTO filler SELECT repeat(md5(random()::text), 30) FROM generate_series(1, 5000)");
    batches++;
  }
  const written = Date.now();
  c.figures.otherWalMb = Math.round(((await wal()) - from) / 1024 / 1024);
  c.figures.fillerBatches = batches;
  c.figures.fillerMs = written - fillerStarted;
  const atEnd = await slot(c);
  c.figures.retainedAtLastWriteMb = Math.round(Number(atEnd?.retained) / 1024 / 1024);
  let last = atEnd;
  const samples: number[] = [];
  c.figures.retainedSamplesMb = samples;
  for (;;) {
    last = await slot(c);
    samples.push(Math.round(Number(last?.retained) / 1024 / 1024));
    if (last !== undefined && last.active && Number(last.retained) < 16 * 1024 * 1024) break;
    if (Date.now() - written > 60_000) break;
    await sleep(1_000);
  }
  c.figures.boundedAfterMs = Date.now() - written;
  c.figures.retainedMb = Math.round((Number(last?.retained) / 1024 / 1024) * 10) / 10;
  expect(last?.active).toBe(true);
  expect(Number(last?.retained)).toBeLessThan(16 * 1024 * 1024);
  expect(beforeFiller).toEqual([]);
  expect(Date.now() - written).toBeLessThanOrEqual(61_000);
  // And the stream still works afterwards.
  expectLoad(c, await runLoad({ url: runtime.url, auth: runtime.auth, orders: 30, concurrency: 3, signal: c.signal }), 30);
  await settle(c, { orders: orders + 30 });
});
