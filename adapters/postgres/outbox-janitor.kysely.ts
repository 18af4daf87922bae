import * as TE from "fp-ts/TaskEither";
import type { Kysely } from "kysely";
import { unavailable } from "../../domain/errors";
import type { OutboxJanitor } from "../../domain/ports";
import type { Database } from "./schema";

/**
 * Deletes delivered events from the outbox so it stays small. Idempotent: a redelivered
 * purge finds no row and is still a success. The deletes reach the log tailer too, which
 * skips them on purpose.
 */
export const createOutboxJanitor = (db: Kysely<Database>): OutboxJanitor => ({
  purge: (eventIds) =>
    eventIds.length === 0
      ? TE.right(0)
      : TE.tryCatch(
          async () => Number((await db.deleteFrom("outbox").where("id", "in", [...eventIds]).executeTakeFirst()).numDeletedRows),
          unavailable("purge outbox"),
        ),
});
