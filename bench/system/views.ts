import { performance } from "node:perf_hooks";
import { isRight } from "fp-ts/Either";
import * as O from "fp-ts/Option";
import { Redis } from "ioredis";
import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { ClientView } from "../../domain/client-view";
import { rebuildViews } from "../../adapters/postgres/client-history.kysely";
import type { Database } from "../../adapters/postgres/schema";
import { createClientViewStore } from "../../adapters/redis/client-view-store.redis";
import { sleep } from "./stats";

/**
 * When each event reached its view, heard from Redis itself: the apply script's last write
 * is `SET applied:{<client>}:<event id>`, and with `notify-keyspace-events E$` Redis
 * publishes each such SET on `__keyevent@0__:set` with the key as the message.
 */
export interface AppliedWatch {
  /** Event id (lower case) -> epoch ms when its marker was heard set (the first time). */
  readonly appliedAt: ReadonlyMap<string, number>;
  /** How many markers were heard so far. */
  count(): number;
  /** Resolves once every id was heard, or after `timeoutMs` with the ids still missing. */
  waitFor(ids: Iterable<string>, timeoutMs: number): Promise<ReadonlyArray<string>>;
  /**
   * Forgets the markers heard before `epochMs`, those of phases done with: the map would
   * otherwise keep every event of the run, and the collector of this process, which times
   * the markers, would pause longer and longer as it grew.
   */
  forgetHeardBefore(epochMs: number): void;
  stop(): Promise<void>;
}

const MARKER = /^applied:\{\d+\}:(.+)$/;

/** One waitFor: the ids it has not heard yet, and how it is told it heard them all. */
interface Waiter {
  readonly missing: Set<string>;
  readonly heardAll: () => void;
}

export const watchApplied = async (redisUrl: string): Promise<AppliedWatch> => {
  const admin = new Redis(redisUrl, { lazyConnect: true });
  await admin.connect();
  await admin.config("SET", "notify-keyspace-events", "E$");
  admin.disconnect();
  const subscriber = new Redis(redisUrl, { lazyConnect: true });
  subscriber.on("error", () => undefined);
  await subscriber.connect();
  const appliedAt = new Map<string, number>();
  // Each waiter's ids not heard yet, struck off as their markers arrive: the listener shares
  // the cores with the system it measures, so waiting costs nothing per poll.
  const waiters = new Set<Waiter>();
  subscriber.on("message", (_channel: string, key: string) => {
    const match = MARKER.exec(key);
    const id = match?.[1];
    if (id === undefined || appliedAt.has(id)) return;
    // Wall-clock milliseconds with a fraction: the events' times are wall-clock too.
    appliedAt.set(id, performance.timeOrigin + performance.now());
    for (const waiter of waiters) if (waiter.missing.delete(id) && waiter.missing.size === 0) waiter.heardAll();
  });
  await subscriber.subscribe("__keyevent@0__:set");
  return {
    appliedAt,
    count: () => appliedAt.size,
    forgetHeardBefore: (epochMs) => {
      // Heard in order of time, and a Map iterates in order of insertion.
      for (const [id, at] of appliedAt) {
        if (at >= epochMs) break;
        appliedAt.delete(id);
      }
    },
    waitFor: async (ids, timeoutMs) => {
      const missing = new Set([...ids].filter((id) => !appliedAt.has(id)));
      if (missing.size === 0) return [];
      let timer: NodeJS.Timeout | undefined;
      let waiter: Waiter | undefined;
      await new Promise<void>((heardAll) => {
        waiter = { missing, heardAll };
        waiters.add(waiter);
        timer = setTimeout(heardAll, timeoutMs);
      });
      clearTimeout(timer);
      waiters.delete(waiter as Waiter);
      return [...missing];
    },
    stop: async () => {
      subscriber.disconnect();
    },
  };
};

/**
 * Every view in Redis equals the SQL aggregate the rebuild computes (rebuildViews over every
 * order), every client without orders has no view, and the outbox is empty. Retried until
 * `timeoutMs` (the system converges after the load stops); the differences left then.
 */
export const viewDifferences = async (db: Kysely<Database>, redis: Redis, timeoutMs: number): Promise<ReadonlyArray<string>> => {
  const store = createClientViewStore(redis);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const differences: string[] = [];
    const outbox = await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox`.execute(db);
    const left = outbox.rows[0]?.n ?? -1;
    if (left !== 0) differences.push(`outbox: ${left} row(s) left`);
    const expected = new Map((await rebuildViews(db, 0, 100_000, 0)).map((r) => [r.view.clientId, r.view]));
    const clients = await db.selectFrom("client").select("id").execute();
    for (const { id } of clients) {
      const got = await store.get(id)();
      if (!isRight(got)) {
        differences.push(`client ${id}: the view could not be read (${got.left.code})`);
        continue;
      }
      const want = expected.get(id);
      const have = O.toUndefined(got.right);
      const text = (v: ClientView | undefined) =>
        v === undefined
          ? "none"
          : JSON.stringify([v.clientId, v.name, v.email, v.totalCents, v.orderCount, v.lastPurchase, v.profileVersion.occurredAtMs, v.profileVersion.eventId]);
      if (text(want) !== text(have)) differences.push(`client ${id}: Redis ${text(have)} != SQL ${text(want)}`);
    }
    if (differences.length === 0 || Date.now() > deadline) return differences;
    await sleep(200);
  }
};
