import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { LocalQueue } from "../../local/queue";
import type { LocalRuntime } from "../../local/runtime";
import { everyProbeAnswered } from "../support/health";
import { sleep } from "./harness";
import { inProcessCases, placeOrder, placeOrders, problems, settled } from "./in-process";

/**
 * Faults injected at the queues of a running runtime: redeliveries in reverse order, a
 * poison message, and a flood of 150 000 messages. Each ends with every view equal to the
 * SQL aggregate and the outbox empty, with no rebuild (the read model had its generation
 * all along, so none may run).
 */
const inCase = inProcessCases();

/** Taps the topic: every event the pipe publishes, in order. */
const tap = (target: LocalRuntime): string[] => {
  const seen: string[] = [];
  const queue = new LocalQueue({ name: "tap", retryDelayMs: 1, maxReceiveCount: 1 });
  queue.consume(async (event) => void seen.push(...event.Records.map((r) => r.body)));
  target.topic.subscribe(queue, { raw: true });
  return seen;
};

const untilTrue = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

it("absorbs every event delivered twice more and in reverse order, with names changing in between", async () => {
  const { servers, database, start } = inCase();
  const started = await start();
  const { runtime } = started;
  const events = tap(runtime);
  // Hold the projection, so the injected copies arrive before the originals.
  await runtime.queues.projection.pause();
  const statuses = await placeOrders(runtime, 120, 8);
  await database.pool.query("UPDATE client SET name = 'Robert', email = 'robert@example.com' WHERE id = 1");
  statuses.push(...(await placeOrders(runtime, 120, 8)));
  expect(statuses.filter((s) => s !== 200)).toEqual([]);
  await untilTrue("every event at the tap", () => events.length === 240, 20_000);

  const reversed = [...events].reverse();
  for (const body of [...reversed, ...reversed]) runtime.queues.projection.send(body, { eventType: "OrderPlaced" });
  runtime.queues.projection.resume();

  expect(await settled(() => problems(servers, database, runtime))).toEqual([]);
  const health = await runtime.health();
  expect(health.readModel.rebuilds).toBe(1);
  expect(health.readModel.lastRebuild?.clients).toBe(0); // the first start, on an empty database
  expect(health.queues.projection.depth).toBe(0);
}, 90_000);

it("dead-letters a poison message after its tries without holding the others back, keeps it across a restart, and redrives it once the cause is fixed", async () => {
  const { servers, database, start } = inCase();
  const started = await start();
  const { runtime } = started;
  expect(await placeOrder(runtime, { id_client: 2, products: [{ id_product: 1, quantity: 1 }] })).toBe(200);
  expect(await settled(() => problems(servers, database, runtime))).toEqual([]);

  // The cause: a view Redis holds in a shape the apply script refuses.
  const redis = servers.redis.client;
  const good = await redis.hget("client:{2}", "total_cents");
  await redis.hset("client:{2}", "total_cents", "not-a-number");
  expect(await placeOrder(runtime, { id_client: 2, products: [{ id_product: 3, quantity: 2 }] })).toBe(200);
  const statuses = await placeOrders(runtime, 60, 6, [1, 3]);
  expect(statuses.filter((s) => s !== 200)).toEqual([]);

  // The others are not delayed beyond their own retries: clients 1 and 3 converge at once.
  await untilTrue(
    "clients 1 and 3 projected",
    async () => (await problems(servers, database, runtime, 1)).every((p) => p.startsWith("client 2")),
    10_000,
  );
  await untilTrue("the poison message in the dead-letter store", async () => (await runtime.health()).queues.projection.deadLetters === 1, 15_000);
  const [letter] = (await database.pool.query<{ receive_count: number; last_error: string; queue: string }>("SELECT * FROM local_runtime.dead_letter")).rows;
  expect(letter).toEqual(expect.objectContaining({ queue: "projection", receive_count: 5 }));
  expect(letter?.last_error).toMatch(/corrupt client view/);
  // Its five tries and their backoff, measured on the letter itself: the load placed meanwhile
  // does not count against them.
  const tried = await database.pool.query<{ ms: number }>("SELECT extract(epoch FROM dead_lettered_at - first_received_at) * 1000 AS ms FROM local_runtime.dead_letter");
  expect(Number(tried.rows[0]?.ms)).toBeLessThan(15_000);
  // Its purge went through: the outbox is empty, only the projection failed.
  expect(Number((await database.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]?.n)).toBe(0);

  // A restart keeps it.
  await runtime.stop();
  const again = await start(started.dataDir);
  let health = await again.runtime.health();
  await untilTrue("every health probe to answer", async () => everyProbeAnswered((health = await again.runtime.health())), 15_000);
  expect(health.queues.projection.deadLetters).toBe(1);
  const stillWrong = await problems(servers, database, again.runtime, 1);
  expect(stillWrong.length).toBeGreaterThan(0);
  expect(stillWrong.every((p) => p.startsWith("client 2"))).toBe(true);

  // Fix the cause, then `npm run redrive -- projection`, exactly as a user would.
  await redis.hset("client:{2}", "total_cents", good as string);
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "local/redrive.ts", "projection"], {
    cwd: process.cwd(),
    env: { ...process.env, LOCAL_DATA_DIR: again.dataDir },
  });
  expect(stdout).toMatch(/sent 1 message\(s\) from projection back/);
  expect(await settled(() => problems(servers, database, again.runtime, 0))).toEqual([]);
  expect((await again.runtime.health()).readModel.rebuilds).toBe(0);
}, 120_000);

it("carries 150 000 queued messages without crashing, and every copy is absorbed", async () => {
  const { servers, database, start } = inCase();
  const started = await start();
  const { runtime } = started;
  const events = tap(runtime);
  expect((await placeOrders(runtime, 150, 6)).filter((s) => s !== 200)).toEqual([]);
  expect(await settled(() => problems(servers, database, runtime))).toEqual([]);
  await untilTrue("every event at the tap", () => events.length === 150, 10_000);

  const projection = runtime.queues.projection;
  await projection.pause();
  for (let copy = 0; copy < 1_000; copy++) for (const body of events) projection.send(body, { eventType: "OrderPlaced" });
  expect(projection.depth()).toBe(150_000);
  expect((await fetch(runtime.healthUrl)).status).toBe(200);
  projection.resume();
  await untilTrue("the flood drained", () => projection.depth() === 0, 100_000);
  expect(await problems(servers, database, runtime)).toEqual([]);
}, 150_000);
