import * as E from "fp-ts/Either";
import * as RNEA from "fp-ts/ReadonlyNonEmptyArray";
import { pipe } from "fp-ts/function";
import { type DomainError, productNotFound } from "./errors";
import { type Cents, multiplyCents, sumCents } from "./money";
import { boundedInt } from "./validation";

/** Ids are PostgreSQL `integer`s. */
export const MAX_ID = 2_147_483_647;
/** A line's quantity is a whole number of units, bounded so a typo cannot order a warehouse. */
export const MAX_QUANTITY = 1_000;
export const MAX_LINES = 100;

export type ClientId = number;
export type ProductId = number;

export interface Client {
  readonly id: ClientId;
  readonly name: string;
  readonly email: string;
}

export interface Product {
  readonly id: ProductId;
  readonly name: string;
  readonly priceCents: Cents;
}

// ---- the place-order command (the wire shape of POST /orders is the handler's request codec) ----

export const ClientIdCodec = boundedInt("ClientId", 1, MAX_ID);
export const ProductIdCodec = boundedInt("ProductId", 1, MAX_ID);
export const QuantityCodec = boundedInt("Quantity", 1, MAX_QUANTITY);

export interface OrderLine {
  readonly productId: ProductId;
  readonly quantity: number;
}

/** A validated request to place an order. */
export interface PlaceOrderCommand {
  readonly clientId: ClientId;
  readonly lines: RNEA.ReadonlyNonEmptyArray<OrderLine>;
}

// ---- pricing ----

export interface PricedLine extends OrderLine {
  readonly unitPriceCents: Cents;
  readonly lineTotalCents: Cents;
}

interface PricedOrder {
  readonly clientId: ClientId;
  readonly lines: RNEA.ReadonlyNonEmptyArray<PricedLine>;
  readonly totalCents: Cents;
}

/** Prices each line at the catalog's current price; every unknown product is reported at once. */
export const priceOrder = (
  command: PlaceOrderCommand,
  catalog: ReadonlyArray<Product>,
): E.Either<DomainError, PricedOrder> => {
  const byId = new Map(catalog.map((product) => [product.id, product]));
  const missing = command.lines.filter((line) => !byId.has(line.productId)).map((line) => line.productId);
  if (missing.length > 0) return E.left(productNotFound(missing));
  const lines = pipe(
    command.lines,
    RNEA.map((line): PricedLine => {
      const unitPriceCents = (byId.get(line.productId) as Product).priceCents;
      return { ...line, unitPriceCents, lineTotalCents: multiplyCents(unitPriceCents, line.quantity) };
    }),
  );
  return E.right({ clientId: command.clientId, lines, totalCents: sumCents(lines.map((l) => l.lineTotalCents)) });
};
