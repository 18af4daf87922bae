import { makePlaceOrderHandler, placeOrderDeps } from "../../handlers/place-order";
import type { LocalRuntime } from "../../local/runtime";
import { postOrder } from "../support/api-gateway";
import type { PrivateDatabase } from "../support/private-servers";
import { privateServers, sleep } from "./harness";
import { placeOrders, problems, settled, startInProcess } from "./in-process";

/**
 * A replication slot that is lost (dropped by an operator, or invalidated when its WAL was
 * removed) takes every change it had not delivered with it. The tailer reports it, creates
 * the slot again, and first delivers the rows still in the outbox as DMS load records, as
 * DMS's full load does. The checks prove delivery through the stream: the outbox is purged
 * by the pipeline's purge consumer, and the read model was not rebuilt.
 */
const servers = privateServers();
let database: PrivateDatabase;
let runtime: LocalRuntime | undefined;
let logs: string[] = [];

beforeEach(async () => {
  database = await servers().postgres.database();
  await servers().redis.flush();
});

afterEach(async () => {
  if (process.env.FAULTS_VERBOSE) console.log(logs.join("\n"));
  await runtime?.stop();
  runtime = undefined;
  await database.drop();
});

const slotNames = async (): Promise<string[]> =>
  (await database.pool.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots WHERE database = current_database()")).rows.map(
    (r) => r.slot_name,
  );

/** Ends the slot's walsender and drops the slot before the tailer can take it again. */
const dropSlot = async (name: string): Promise<void> => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await database.pool.query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL", [name]);
      await database.pool.query("SELECT pg_drop_replication_slot($1)", [name]);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(5);
    }
  }
};

const placeDirectly = async (count: number): Promise<void> => {
  const place = makePlaceOrderHandler(async () => placeOrderDeps(database.db));
  for (let i = 0; i < count; i++) {
    const response = await place(postOrder({ id_client: (i % 3) + 1, products: [{ id_product: (i % 3) + 1, quantity: 1 }] }));
    expect(response.statusCode).toBe(200);
  }
};

it("delivers, through an initial load, the orders committed while the slot was gone", async () => {
  const first = await startInProcess(servers(), database);
  runtime = first.runtime;
  expect((await placeOrders(runtime, 60, 6)).filter((s) => s !== 200)).toEqual([]);
  expect(await settled(() => problems(servers(), database, runtime as LocalRuntime))).toEqual([]);
  await runtime.stop();
  runtime = undefined;

  const [slot] = await slotNames();
  await dropSlot(slot as string);
  await placeDirectly(90);

  const second = await startInProcess(servers(), database, first.dataDir);
  runtime = second.runtime;
  logs = [...first.logs, "--- restart ---", ...second.logs];
  expect(await settled(() => problems(servers(), database, runtime as LocalRuntime))).toEqual([]);
  expect(second.logs.join("\n")).toMatch(/initial load of slot \S+: 90 outbox row\(s\) delivered as load records/);
  expect((await runtime.health()).readModel.rebuilds).toBe(0);
}, 90_000);

it("recreates a slot dropped while it streams, and loses none of the orders placed meanwhile", async () => {
  const started = await startInProcess(servers(), database);
  runtime = started.runtime;
  logs = started.logs;
  const load = placeOrders(runtime, 300, 8);
  await sleep(300);
  const [slot] = await slotNames();
  await dropSlot(slot as string);
  await placeDirectly(30);
  expect((await load).filter((s) => s !== 200)).toEqual([]);

  expect(await settled(() => problems(servers(), database, runtime as LocalRuntime), 45_000)).toEqual([]);
  expect(started.logs.join("\n")).toMatch(/replication slot \S+ (was dropped|is gone)/);
  const health = await runtime.health();
  expect(health.slot.streaming).toBe(true);
  expect(health.readModel.rebuilds).toBe(1);
  expect(health.readModel.lastRebuild?.clients).toBe(0);
}, 90_000);
