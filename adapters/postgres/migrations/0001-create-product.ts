import { type Kysely, sql } from "kysely";

export const up = async (db: Kysely<unknown>): Promise<void> => {
  await db.schema
    .createTable("product")
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    // The domain's bound (money.ts): totals stay exact safe integers end to end.
    .addColumn("price_cents", "bigint", (c) => c.notNull().check(sql`price_cents between 0 and 1000000000`))
    .execute();
};

export const down = async (db: Kysely<unknown>): Promise<void> => {
  await db.schema.dropTable("product").execute();
};
