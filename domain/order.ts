import * as E from "fp-ts/Either";
import * as RNEA from "fp-ts/ReadonlyNonEmptyArray";
import { pipe } from "fp-ts/function";
import type * as t from "io-ts";
import { type DomainError, type Issue, productNotFound, validationFailed } from "./errors";
import { type Cents, multiplyCents, sumCents } from "./money";
import { boundedArray, boundedInt, decodeWith, strictType } from "./validation";

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

// ---- the place-order request (wire shape of POST /orders) ----

export const ClientIdCodec = boundedInt("ClientId", 1, MAX_ID);
export const ProductIdCodec = boundedInt("ProductId", 1, MAX_ID);
export const QuantityCodec = boundedInt("Quantity", 1, MAX_QUANTITY);

export const ProductLineBody = strictType({ id_product: ProductIdCodec, quantity: QuantityCodec }, "ProductLine");

export const PlaceOrderBody = strictType(
  { id_client: ClientIdCodec, products: boundedArray(ProductLineBody, 1, MAX_LINES, "ProductLines") },
  "PlaceOrderBody",
);
export type PlaceOrderBody = t.TypeOf<typeof PlaceOrderBody>;

export interface OrderLine {
  readonly productId: ProductId;
  readonly quantity: number;
}

/** A validated request to place an order. */
export interface PlaceOrderCommand {
  readonly clientId: ClientId;
  readonly lines: RNEA.ReadonlyNonEmptyArray<OrderLine>;
}

/**
 * Two lines for the same product are rejected rather than merged: a merged quantity could
 * silently exceed the per-line bound, and the client most likely sent the line twice by
 * mistake. Each repeat is reported at its own path. Read from the raw input, so a repeat is
 * reported even when other fields of the request are invalid too.
 */
const duplicateLines = (input: unknown): ReadonlyArray<Issue> => {
  const products = typeof input === "object" && input !== null ? (input as { products?: unknown }).products : undefined;
  if (!Array.isArray(products)) return [];
  const firstIndex = new Map<number, number>();
  return products.flatMap((line: unknown, index) => {
    const id = typeof line === "object" && line !== null ? (line as { id_product?: unknown }).id_product : undefined;
    if (!ProductIdCodec.is(id)) return [];
    const first = firstIndex.get(id);
    if (first === undefined) {
      firstIndex.set(id, index);
      return [];
    }
    return [
      {
        path: `products[${index}].id_product`,
        code: "duplicate" as const,
        message: `product ${id} is already ordered in products[${first}]; send one line per product`,
      },
    ];
  });
};

export const decodePlaceOrder = (input: unknown): E.Either<DomainError, PlaceOrderCommand> => {
  const decoded = decodeWith(PlaceOrderBody)(input);
  const duplicates = duplicateLines(input);
  if (E.isLeft(decoded) || duplicates.length > 0) {
    return E.left(validationFailed([...(E.isLeft(decoded) ? decoded.left : []), ...duplicates]));
  }
  const body = decoded.right;
  return E.right({
    clientId: body.id_client,
    lines: pipe(
      body.products,
      RNEA.map((line): OrderLine => ({ productId: line.id_product, quantity: line.quantity })),
    ),
  });
};

// ---- pricing ----

export interface PricedLine extends OrderLine {
  readonly unitPriceCents: Cents;
  readonly lineTotalCents: Cents;
}

export interface PricedOrder {
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
