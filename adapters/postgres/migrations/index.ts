import type { Migration, MigrationProvider } from "kysely";
import * as createProduct from "./0001-create-product";
import * as createClient from "./0002-create-client";
import * as createOrder from "./0003-create-order";
import * as createOrderItem from "./0004-create-order-item";
import * as createOutbox from "./0005-create-outbox";

/**
 * Every migration, imported statically: a provider that reads a folder at run time would
 * find nothing inside an esbuild bundle. Add a file, then add it here, in order.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  "0001-create-product": createProduct,
  "0002-create-client": createClient,
  "0003-create-order": createOrder,
  "0004-create-order-item": createOrderItem,
  "0005-create-outbox": createOutbox,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
