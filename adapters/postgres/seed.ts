import type { Kysely } from "kysely";
import type { Database } from "./schema";

/** The original sample's catalog and clients. Prices in cents. */
const SEED_PRODUCTS = [
  { id: 1, name: "Computer", price_cents: 150_000 },
  { id: 2, name: "Phone", price_cents: 50_000 },
  { id: 3, name: "TV", price_cents: 100_000 },
] as const;

const SEED_CLIENTS = [
  { id: 1, name: "Bob", email: "bob@anemailprovider.com" },
  { id: 2, name: "Alice", email: "alice@anemailprovider.com" },
  { id: 3, name: "John", email: "john@anemailprovider.com" },
] as const;

export interface SeedReport {
  readonly productsInserted: number;
  readonly clientsInserted: number;
}

/** Idempotent: rows that exist (by id) are left as they are, so a re-run changes nothing. */
export const seed = (db: Kysely<Database>): Promise<SeedReport> =>
  db.transaction().execute(async (trx) => {
    const products = await trx
      .insertInto("product")
      .values(SEED_PRODUCTS.map((p) => ({ ...p })))
      .onConflict((oc) => oc.column("id").doNothing())
      .executeTakeFirst();
    const clients = await trx
      .insertInto("client")
      .values(SEED_CLIENTS.map((c) => ({ ...c })))
      .onConflict((oc) => oc.column("id").doNothing())
      .executeTakeFirst();
    return {
      productsInserted: Number(products.numInsertedOrUpdatedRows ?? 0n),
      clientsInserted: Number(clients.numInsertedOrUpdatedRows ?? 0n),
    };
  });
