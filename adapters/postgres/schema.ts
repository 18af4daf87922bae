import type { ColumnType, Selectable } from "kysely";

/**
 * Kysely table types of the command database. Money columns are `bigint` cents; the pool's
 * type parsers (see `pool.ts`) turn them into safe integers, never floats.
 */
export interface ProductTable {
  id: number;
  name: string;
  price_cents: number;
}

export interface ClientTable {
  id: number;
  name: string;
  email: string;
}

export interface OrderTable {
  id: string;
  client_id: number;
  placed_at: ColumnType<Date, Date | string, never>;
  total_cents: number;
  /** The OrderPlaced event announcing this order. */
  event_id: string;
  idempotency_key: string | null;
  /** Canonical rendering of the request that used `idempotency_key`. */
  request_fingerprint: string | null;
}

export interface OrderItemTable {
  order_id: string;
  product_id: number;
  quantity: number;
  unit_price_cents: number;
}

export interface OutboxTable {
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  event_type: string;
  event_version: number;
  payload: ColumnType<unknown, string, never>;
  occurred_at: ColumnType<Date, Date | string, never>;
}

export interface Database {
  product: ProductTable;
  client: ClientTable;
  order: OrderTable;
  order_item: OrderItemTable;
  outbox: OutboxTable;
}

export type OrderRow = Selectable<OrderTable>;
