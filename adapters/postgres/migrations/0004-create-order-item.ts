import { type Kysely, sql } from "kysely";

export const up = async (db: Kysely<unknown>): Promise<void> => {
  await db.schema
    .createTable("order_item")
    .addColumn("order_id", "uuid", (c) => c.notNull().references("order.id").onDelete("cascade"))
    .addColumn("product_id", "integer", (c) => c.notNull().references("product.id"))
    .addColumn("quantity", "integer", (c) => c.notNull().check(sql`quantity between 1 and 1000`))
    .addColumn("unit_price_cents", "bigint", (c) => c.notNull().check(sql`unit_price_cents >= 0`))
    .addPrimaryKeyConstraint("order_item_pk", ["order_id", "product_id"])
    .execute();
};

export const down = async (db: Kysely<unknown>): Promise<void> => {
  await db.schema.dropTable("order_item").execute();
};
