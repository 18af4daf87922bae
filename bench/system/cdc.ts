// The CDC stage alone: OrderPlaced outbox rows written straight into PostgreSQL by several
// writers, as another service's transactions would be, each with the order row that the
// SQL aggregate counts. No HTTP and no order store: only the tailer and what follows it.
import { randomUUID } from "node:crypto";
import type { Pool, QueryConfig } from "pg";
import { type Percentiles, percentiles } from "./stats";
import type { AppliedWatch } from "./views";

const CDC_INSERT = `
WITH placed AS (
  INSERT INTO "order" (id, client_id, placed_at, total_cents, event_id)
  VALUES ($1, $2, $3, $4, $5)
  RETURNING id
)
INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at)
SELECT $5, 'client', $6, 'OrderPlaced', 1, $7::jsonb, $3 FROM placed`;

const CDC_CLIENTS = [
  { id: 1, name: "Bob", email: "bob@anemailprovider.com" },
  { id: 2, name: "Alice", email: "alice@anemailprovider.com" },
  { id: 3, name: "John", email: "john@anemailprovider.com" },
] as const;

interface Written {
  readonly eventId: string;
  readonly occurredAtMs: number;
}

/** One valid OrderPlaced envelope (domain/outbox-event.ts) and its order row, as one statement, not yet sent. */
export const orderPlacedRow = (n: number): Written & { readonly clientId: number; readonly query: QueryConfig } => {
  const client = CDC_CLIENTS[n % CDC_CLIENTS.length] as (typeof CDC_CLIENTS)[number];
  const orderId = randomUUID();
  const eventId = randomUUID();
  const occurredAt = new Date();
  const quantity = 1 + (n % 5);
  const payload = {
    orderId,
    clientId: client.id,
    clientName: client.name,
    clientEmail: client.email,
    totalCents: quantity * 50_000,
    placedAt: Math.floor(occurredAt.getTime() / 1000),
    items: [{ productId: 2, quantity, unitPriceCents: 50_000 }],
  };
  const query = {
    name: "bench-cdc-insert",
    text: CDC_INSERT,
    values: [orderId, client.id, occurredAt.toISOString(), payload.totalCents, eventId, String(client.id), JSON.stringify(payload)],
  };
  return { eventId, occurredAtMs: occurredAt.getTime(), clientId: client.id, query };
};

/** Writes one valid OrderPlaced envelope straight into the outbox. */
export const insertRow = async (pool: Pool, n: number): Promise<Written> => {
  const { eventId, occurredAtMs, query } = orderPlacedRow(n);
  await pool.query(query);
  return { eventId, occurredAtMs };
};

/** `writers` connections of `pool` inserting back to back while `more()` says so. */
const writeWhile = async (pool: Pool, writers: number, more: (written: number) => boolean): Promise<Written[]> => {
  const written: Written[] = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (more(started)) {
        started += 1;
        written.push(await insertRow(pool, started));
      }
    }),
  );
  return written;
};

export interface CdcLive {
  readonly rows: number;
  readonly writtenMs: number;
  /** Rows written over the time until the last of them was in every view. */
  readonly deliveredPerSecond: number;
  readonly lag: Percentiles;
  readonly missing: number;
}

/** Rows written for `ms` by `writers` while the runtime runs, then waited for in every view. */
export const runCdcLive = async (pool: Pool, writers: number, ms: number, watch: AppliedWatch, convergeMs: number): Promise<CdcLive> => {
  const start = Date.now();
  const written = await writeWhile(pool, writers, () => Date.now() < start + ms);
  const writtenMs = Date.now() - start;
  const missing = await watch.waitFor(
    written.map((w) => w.eventId),
    convergeMs,
  );
  const lags = written.flatMap((w) => {
    const at = watch.appliedAt.get(w.eventId);
    return at === undefined ? [] : [at - w.occurredAtMs];
  });
  const lastApplied = written.reduce((last, w) => Math.max(last, watch.appliedAt.get(w.eventId) ?? 0), 0);
  return {
    rows: written.length,
    writtenMs,
    deliveredPerSecond: (written.length * 1000) / Math.max(1, lastApplied - start),
    lag: percentiles(lags),
    missing: missing.length,
  };
};

/** `rows` rows by `writers` (while the runtime is stopped); their event ids. */
export const writeBurst = async (pool: Pool, writers: number, rows: number): Promise<string[]> =>
  (await writeWhile(pool, writers, (started) => started < rows)).map((w) => w.eventId);

export interface BurstDrain {
  readonly rows: number;
  readonly applied: number;
  /** Events applied between the first and the last of them. */
  readonly eventsPerSecond: number;
  /** Since the runtime was spawned. */
  readonly firstAppliedS: number;
  readonly allAppliedS: number;
}

/** How a burst of `ids` drained, from when each was heard applied. */
export const burstDrainOf = (ids: ReadonlyArray<string>, appliedAt: ReadonlyMap<string, number>, spawnedAtMs: number): BurstDrain => {
  const applied = ids.map((id) => appliedAt.get(id)).filter((at): at is number => at !== undefined);
  const first = applied.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const last = applied.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  return {
    rows: ids.length,
    applied: applied.length,
    eventsPerSecond: (applied.length * 1000) / Math.max(1, last - first),
    firstAppliedS: (first - spawnedAtMs) / 1000,
    allAppliedS: (last - spawnedAtMs) / 1000,
  };
};
