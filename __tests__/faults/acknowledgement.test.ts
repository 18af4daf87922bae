import { sleep } from "./harness";
import { inProcessCases, placeOrders, problems, settled } from "./in-process";

/**
 * The slot is the only durable log here: it may be told to forget a transaction only once
 * both consumers handled it. Watched directly on the server (`confirmed_flush_lsn`), with
 * one consumer held, so no crash is needed to see a premature acknowledgement.
 */
const inCase = inProcessCases();

const slot = async () =>
  (
    await inCase().database.pool.query<{ confirmed: string }>(
      "SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE database = current_database()",
    )
  ).rows[0];

const lsnOfNow = async (): Promise<string> =>
  (await inCase().database.pool.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]?.lsn as string;

const isBefore = async (a: string, b: string): Promise<boolean> =>
  (await inCase().database.pool.query<{ before: boolean }>("SELECT $1::pg_lsn < $2::pg_lsn AS before", [a, b])).rows[0]?.before === true;

for (const held of ["projection", "outbox-purge"] as const) {
  it(`does not confirm a transaction while the ${held} consumer has not handled it`, async () => {
    const { servers, database, start } = inCase();
    const { runtime } = await start(undefined, { statusIntervalMs: 100 });
    await sleep(500);
    await runtime.queues[held].pause();
    expect((await placeOrders(runtime, 30, 4)).filter((s) => s !== 200)).toEqual([]);
    const after = await lsnOfNow();
    // Several status updates (and keepalive replies) go by.
    await sleep(1_500);
    const held1 = await slot();
    expect(await isBefore(held1?.confirmed as string, after)).toBe(true);

    runtime.queues[held].resume();
    expect(await settled(() => problems(servers, database, runtime))).toEqual([]);
    // Handled: now the slot moves past them.
    const deadline = Date.now() + 10_000;
    while (await isBefore((await slot())?.confirmed as string, after)) {
      if (Date.now() > deadline) throw new Error(`the slot stayed at ${(await slot())?.confirmed}, before ${after}`);
      await sleep(100);
    }
  }, 60_000);
}
