import type { Kysely } from "kysely";

/**
 * The outbox: written in the order's transaction, read by log tailing (DMS on AWS, the
 * local tailer here), deleted by the purge consumer once delivered. Deletes carry only the
 * primary key in the log (default replica identity), which is all the tailer needs to skip.
 */
export const up = async (db: Kysely<unknown>): Promise<void> => {
  await db.schema
    .createTable("outbox")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("aggregate_type", "text", (c) => c.notNull())
    .addColumn("aggregate_id", "text", (c) => c.notNull())
    .addColumn("event_type", "text", (c) => c.notNull())
    .addColumn("event_version", "integer", (c) => c.notNull())
    .addColumn("payload", "jsonb", (c) => c.notNull())
    .addColumn("occurred_at", "timestamptz", (c) => c.notNull())
    .execute();
};

export const down = async (db: Kysely<unknown>): Promise<void> => {
  await db.schema.dropTable("outbox").execute();
};
