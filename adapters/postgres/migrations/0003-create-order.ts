import { type Kysely, sql } from "kysely";

export const up = async (db: Kysely<unknown>): Promise<void> => {
  await db.schema
    .createTable("order")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("client_id", "integer", (c) => c.notNull().references("client.id"))
    .addColumn("placed_at", "timestamptz", (c) => c.notNull())
    .addColumn("total_cents", "bigint", (c) => c.notNull().check(sql`total_cents >= 0`))
    // The id of the OrderPlaced event: outbox rows are purged after delivery, and `reproject`
    // still needs it to mark rebuilt events as applied in the read model.
    .addColumn("event_id", "uuid", (c) => c.notNull().unique())
    // NULLs never collide, so only requests that sent a key are deduplicated.
    .addColumn("idempotency_key", "text", (c) => c.unique())
    .addColumn("request_fingerprint", "text")
    .addCheckConstraint("order_key_has_fingerprint", sql`(idempotency_key is null) = (request_fingerprint is null)`)
    .execute();
  await db.schema.createIndex("order_client_id_idx").on("order").column("client_id").execute();
};

export const down = async (db: Kysely<unknown>): Promise<void> => {
  await db.schema.dropTable("order").execute();
};
