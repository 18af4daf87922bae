import { makePlaceOrderHandler, placeOrderDeps } from "../../handlers/place-order";
import { postOrder } from "../support/api-gateway";
import { sleep } from "./harness";
import { inProcessCases, placeOrders, problems, settled } from "./in-process";

/**
 * A replication slot that is lost (dropped by an operator, or invalidated when its WAL was
 * removed) takes every change it had not delivered with it. The tailer reports it, creates
 * the slot again, and first delivers the rows still in the outbox as DMS load records, as
 * DMS's full load does. The checks prove delivery through the stream: the outbox is purged
 * by the pipeline's purge consumer, and the read model was not rebuilt.
 */
const inCase = inProcessCases();

const slotNames = async (): Promise<string[]> =>
  (await inCase().database.pool.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots WHERE database = current_database()")).rows.map(
    (r) => r.slot_name,
  );

/** Ends the slot's walsender (waiting for it to exit) and drops the slot before the tailer can take it again. */
const dropSlot = async (name: string): Promise<void> => {
  const { database } = inCase();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await database.pool.query("SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL", [name]);
      await database.pool.query("SELECT pg_drop_replication_slot($1)", [name]);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(5);
    }
  }
};

const placeDirectly = async (count: number): Promise<void> => {
  const place = makePlaceOrderHandler(async () => placeOrderDeps(inCase().database.db));
  for (let i = 0; i < count; i++) {
    const response = await place(postOrder({ id_client: (i % 3) + 1, products: [{ id_product: (i % 3) + 1, quantity: 1 }] }));
    expect(response.statusCode).toBe(200);
  }
};

it("delivers, through an initial load, the orders committed while the slot was gone", async () => {
  const { servers, database, start } = inCase();
  const first = await start();
  expect((await placeOrders(first.runtime, 60, 6)).filter((s) => s !== 200)).toEqual([]);
  expect(await settled(() => problems(servers, database, first.runtime))).toEqual([]);
  await first.runtime.stop();

  const [slot] = await slotNames();
  await dropSlot(slot as string);
  await placeDirectly(90);

  const second = await start(first.dataDir);
  expect(await settled(() => problems(servers, database, second.runtime))).toEqual([]);
  expect(second.logs.join("\n")).toMatch(/initial load of slot \S+: 90 outbox row\(s\) delivered as load records/);
  expect((await second.runtime.health()).readModel.rebuilds).toBe(0);
}, 90_000);

it("recreates a slot dropped while it streams, and loses none of the orders placed meanwhile", async () => {
  const { servers, database, start } = inCase();
  const started = await start();
  const { runtime } = started;
  const load = placeOrders(runtime, 300, 8);
  await sleep(300);
  const [slot] = await slotNames();
  await dropSlot(slot as string);
  await placeDirectly(30);
  expect((await load).filter((s) => s !== 200)).toEqual([]);

  expect(await settled(() => problems(servers, database, runtime), 45_000)).toEqual([]);
  expect(started.logs.join("\n")).toMatch(/replication slot \S+ (was dropped|is gone)/);
  // Streaming again (it may still be backing off after its reconnects when the views settle).
  const deadline = Date.now() + 15_000;
  while (!(await runtime.health()).slot.streaming && Date.now() < deadline) await sleep(100);
  const health = await runtime.health();
  expect(health.slot.streaming).toBe(true);
  expect(health.readModel.rebuilds).toBe(1);
  expect(health.readModel.lastRebuild?.clients).toBe(0);
}, 90_000);
