import { type Kysely, sql } from "kysely";
import type { ClientView } from "../../domain/client-view";
import { cents } from "../../domain/money";
import type { Database } from "./schema";

interface RebuiltView {
  readonly view: ClientView;
  /** Events inside the redelivery window, to be marked applied so a late copy adds nothing. */
  readonly eventIds: ReadonlyArray<string>;
}

interface Row {
  client_id: number;
  name: string;
  email: string;
  total_cents: number;
  order_count: number;
  last_purchase: number;
  profile_at_ms: number;
  profile_event_id: string;
  recent_event_ids: string[] | null;
}

/**
 * Every client view as the projector would build it, computed by ONE aggregate over the
 * command database (the source of truth), a page of clients at a time (keyset by id).
 * The rule is the domain reducer's (`apply` in domain/client-view.ts, the reference the
 * parity test in __tests__/integration/client-history.test.ts checks this query against),
 * folded over every order at once: sum(total_cents), count(*), max(placed_at) in epoch
 * seconds, and the profile stamped with the greatest (placed_at in ms, event_id), the same
 * order as the domain's last-writer-wins. The profile is the client's current name and
 * email: an event copies the client row as it was, and nothing in this system changes a
 * client's row after its orders, so that is the latest event's profile too.
 */
export const rebuildViews = async (
  db: Kysely<Database>,
  afterClientId: number,
  limit: number,
  markerWindowSeconds: number,
): Promise<ReadonlyArray<RebuiltView>> => {
  const result = await sql<Row>`
    SELECT c.id AS client_id, c.name, c.email,
           sum(o.total_cents)::bigint AS total_cents,
           count(*)::int AS order_count,
           floor(extract(epoch FROM max(o.placed_at)))::bigint AS last_purchase,
           floor(extract(epoch FROM max(o.placed_at)) * 1000)::bigint AS profile_at_ms,
           (array_agg(o.event_id::text ORDER BY o.placed_at DESC, o.event_id DESC))[1] AS profile_event_id,
           array_agg(o.event_id::text) FILTER (WHERE o.placed_at > now() - make_interval(secs => ${markerWindowSeconds})) AS recent_event_ids
      FROM client c
      JOIN "order" o ON o.client_id = c.id
     WHERE c.id > ${afterClientId}
     GROUP BY c.id
     ORDER BY c.id
     LIMIT ${limit}`.execute(db);
  return result.rows.map((row) => ({
    view: {
      clientId: row.client_id,
      name: row.name,
      email: row.email,
      totalCents: cents(row.total_cents),
      orderCount: row.order_count,
      lastPurchase: row.last_purchase,
      profileVersion: { occurredAtMs: row.profile_at_ms, eventId: row.profile_event_id },
    },
    eventIds: row.recent_event_ids ?? [],
  }));
};

/**
 * Resolves once every transaction in progress when it was called has ended. A rebuild calls
 * it after it cleared the read model's generation (from then on no event is applied) and
 * before it reads: an event the consumer applied before that came from a transaction whose
 * commit record was already written, but which other sessions may not see yet (PostgreSQL
 * writes, and so streams, the commit record first). Such a transaction is one of those in
 * progress, so once they all ended the rebuild's reads include it. A long transaction delays
 * the rebuild by as long; the signal stops the wait.
 */
export const waitForTransactionsInProgress = async (db: Kysely<Database>, signal?: AbortSignal, pollMs = 20): Promise<void> => {
  // A snapshot lists as running only the ids below its xmax, one past the newest finished
  // transaction: the newest ones still running (a held commit among them) are above it. A
  // transaction id of our own, taken and committed at once, moves xmax past all of them.
  await sql`SELECT pg_current_xact_id()`.execute(db);
  const taken = await sql<{ snapshot: string }>`SELECT pg_current_snapshot()::text AS snapshot`.execute(db);
  const snapshot = taken.rows[0]?.snapshot ?? "0:0:";
  for (;;) {
    signal?.throwIfAborted();
    const running = await sql<{ running: number }>`
      SELECT count(*)::int AS running FROM pg_snapshot_xip(${snapshot}::pg_snapshot) AS xid
       WHERE NOT pg_visible_in_snapshot(xid, pg_current_snapshot())`.execute(db);
    if ((running.rows[0]?.running ?? 0) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
};
