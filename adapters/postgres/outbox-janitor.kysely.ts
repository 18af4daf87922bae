import * as TE from "fp-ts/TaskEither";
import { CompiledQuery, type Kysely } from "kysely";
import { unavailable } from "../../domain/errors";
import type { OutboxJanitor } from "../../domain/ports";
import { preparedStatement } from "./pool";
import type { Database } from "./schema";

/** One statement for any number of ids (a constant text, so one prepared plan). $1 the event ids */
const PURGE_SQL = preparedStatement("outbox_purge", "DELETE FROM outbox WHERE id = ANY($1::uuid[])");

/**
 * Deletes delivered events from the outbox so it stays small: a whole batch of ids in one
 * statement. Idempotent: a redelivered purge finds no row and is still a success. The
 * deletes reach the log tailer too, which skips them on purpose.
 */
export const createOutboxJanitor = (db: Kysely<Database>): OutboxJanitor => ({
  purge: (eventIds) =>
    eventIds.length === 0
      ? TE.right(0)
      : TE.tryCatch(
          async () => Number((await db.executeQuery(CompiledQuery.raw(PURGE_SQL, [[...eventIds]]))).numAffectedRows ?? 0),
          unavailable("purge outbox"),
        ),
});
