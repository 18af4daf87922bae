import * as TE from "fp-ts/TaskEither";
import { CompiledQuery, type Kysely } from "kysely";
import { unavailable } from "../../domain/errors";
import type { Uuid } from "../../domain/outbox-event";
import type { OutboxJanitor } from "../../domain/ports";
import { preparedStatement } from "./pool";
import { type Batched, batcher } from "./statement-batcher";
import type { Database } from "./schema";

/** One statement for any number of ids (a constant text, so one prepared plan). $1 the event ids */
const PURGE_SQL = preparedStatement("outbox_purge", "DELETE FROM outbox WHERE id = ANY($1::uuid[])");

/** Purges of this many batches of ids at most in one statement, and one statement out at once. */
const MAX_MERGED = 32;

/**
 * Purges that arrive while one is out go together in the next DELETE (`statement-batcher.ts`):
 * the local runtime works a backlog off with several purge batches in flight. Each purge is
 * answered with what the statement that carried it deleted. A failed statement deleted
 * nothing, so every purge of it fails and is retried.
 */
const mergedPurges = (db: Kysely<Database>, lingerMs: number): Batched<ReadonlyArray<Uuid>, number> =>
  batcher<ReadonlyArray<Uuid>, number>(
    async (purges) => {
      const deleted = Number((await db.executeQuery(CompiledQuery.raw(PURGE_SQL, [purges.flat()]))).numAffectedRows ?? 0);
      return purges.map(() => deleted);
    },
    { maxBatch: MAX_MERGED, maxInFlight: 1, lingerMs },
  );

const shared = new WeakMap<Kysely<Database>, Batched<ReadonlyArray<Uuid>, number>>();

/**
 * Deletes delivered events from the outbox so it stays small: a whole batch of ids in one
 * statement, shared with the purges made at the same time. Idempotent: a redelivered purge
 * finds no row and is still a success. DMS streams the deletes too, and the enrichment skips
 * them; the local publication does not stream them (see local/log-tailer.ts).
 */
export interface OutboxJanitorOptions {
  /**
   * How long a purge waits for others to share its DELETE (0, the default, as on Lambda,
   * where one batch runs at a time). The local runtime, with many purge batches in flight,
   * waits a few milliseconds: nobody waits on a purge but the slot's confirmation. The first
   * janitor made on a database decides.
   */
  readonly lingerMs?: number;
}

export const createOutboxJanitor = (db: Kysely<Database>, options: OutboxJanitorOptions = {}): OutboxJanitor => {
  let purge = shared.get(db);
  if (purge === undefined) {
    purge = mergedPurges(db, options.lingerMs ?? 0);
    shared.set(db, purge);
  }
  const merged = purge;
  return {
    purge: (eventIds) => (eventIds.length === 0 ? TE.right(0) : TE.tryCatch(() => merged(eventIds), unavailable("purge outbox"))),
  };
};
