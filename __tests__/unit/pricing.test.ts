import fc from "fast-check";
import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import * as RNEA from "fp-ts/ReadonlyNonEmptyArray";
import { pipe } from "fp-ts/function";
import { centsToUnits, cents } from "../../domain/money";
import { MAX_ID, MAX_LINES, MAX_QUANTITY, type OrderLine, type PlaceOrderCommand, type Product, priceOrder } from "../../domain/order";

const MAX_PRICE_CENTS = 1_000_000_000;

const nonEmpty = <A>(values: ReadonlyArray<A>): RNEA.ReadonlyNonEmptyArray<A> =>
  pipe(
    RNEA.fromReadonlyArray(values),
    O.getOrElse((): RNEA.ReadonlyNonEmptyArray<A> => {
      throw new Error("expected at least one element");
    }),
  );

const command = (clientId: number, lines: ReadonlyArray<OrderLine>): PlaceOrderCommand => ({ clientId, lines: nonEmpty(lines) });
const product = (id: number, name: string, priceCents: number): Product => ({ id, name, priceCents: cents(priceCents) });

const computer = product(1, "Computer", 150_000);
const phone = product(2, "Phone", 50_000);
const tv = product(3, "TV", 100_000);
const seedCatalog = [computer, phone, tv];

/** The exact decimal of `amount` cents in currency units, as JSON should print it. */
const decimalOf = (amount: bigint): string => {
  const units = amount / 100n;
  const rest = amount % 100n;
  if (rest === 0n) return units.toString();
  return `${units}.${rest.toString().padStart(2, "0").replace(/0$/, "")}`;
};

describe("priceOrder", () => {
  test("1 x Computer 1500.00 + 3 x Phone 500.00 is exactly 300000 cents", () => {
    const result = priceOrder(
      command(1, [
        { productId: 1, quantity: 1 },
        { productId: 2, quantity: 3 },
      ]),
      seedCatalog,
    );
    expect(result).toEqual(
      E.right({
        clientId: 1,
        lines: [
          { productId: 1, quantity: 1, unitPriceCents: 150_000, lineTotalCents: 150_000 },
          { productId: 2, quantity: 3, unitPriceCents: 50_000, lineTotalCents: 150_000 },
        ],
        totalCents: 300_000,
      }),
    );
  });

  test("amounts that are inexact in binary floating point stay exact in cents", () => {
    // 0.10 + 0.20 !== 0.30 and 19.99 * 3 !== 59.97 in doubles; in cents both are exact.
    const catalog = [product(10, "Ten cents", 10), product(20, "Twenty cents", 20), product(30, "Nineteen ninety-nine", 1_999)];
    const result = priceOrder(
      command(5, [
        { productId: 10, quantity: 1 },
        { productId: 20, quantity: 1 },
        { productId: 30, quantity: 3 },
      ]),
      catalog,
    );
    expect(result).toEqual(
      E.right({
        clientId: 5,
        lines: [
          { productId: 10, quantity: 1, unitPriceCents: 10, lineTotalCents: 10 },
          { productId: 20, quantity: 1, unitPriceCents: 20, lineTotalCents: 20 },
          { productId: 30, quantity: 3, unitPriceCents: 1_999, lineTotalCents: 5_997 },
        ],
        totalCents: 6_027,
      }),
    );
  });

  test("the largest possible order (100 lines x 1000 units x 10^9 cents) is exact", () => {
    const catalog = Array.from({ length: MAX_LINES }, (_, index) => product(index + 1, `P${index + 1}`, MAX_PRICE_CENTS));
    const lines = catalog.map((p) => ({ productId: p.id, quantity: MAX_QUANTITY }));
    const result = priceOrder(command(1, lines), catalog);
    expect(pipe(result, E.map((priced) => priced.totalCents))).toEqual(E.right(100_000_000_000_000));
  });

  test("every unknown product is reported in one ProductNotFound, in line order", () => {
    const result = priceOrder(
      command(1, [
        { productId: 42, quantity: 1 },
        { productId: 1, quantity: 1 },
        { productId: 9, quantity: 2 },
        { productId: 2, quantity: 1 },
        { productId: 77, quantity: 1 },
      ]),
      seedCatalog,
    );
    expect(result).toEqual(E.left({ code: "ProductNotFound", productIds: [42, 9, 77] }));
  });

  test("an empty catalog reports every ordered product", () => {
    const result = priceOrder(command(1, [{ productId: 3, quantity: 1 }]), []);
    expect(result).toEqual(E.left({ code: "ProductNotFound", productIds: [3] }));
  });

  test("the catalog's current price is used, whatever else the catalog holds", () => {
    const result = priceOrder(command(1, [{ productId: 3, quantity: 2 }]), [computer, phone, product(3, "TV", 99_999)]);
    expect(result).toEqual(
      E.right({
        clientId: 1,
        lines: [{ productId: 3, quantity: 2, unitPriceCents: 99_999, lineTotalCents: 199_998 }],
        totalCents: 199_998,
      }),
    );
  });
});

// ---- properties ----

interface Scenario {
  readonly catalog: ReadonlyArray<Product>;
  readonly lines: ReadonlyArray<OrderLine>;
}

/** A catalog of up to 150 products and an order of 1..100 distinct lines drawn from it, in any order. */
const scenario: fc.Arbitrary<Scenario> = fc
  .uniqueArray(
    fc.record({ id: fc.integer({ min: 1, max: MAX_ID }), price: fc.integer({ min: 0, max: MAX_PRICE_CENTS }) }),
    { selector: (p) => p.id, minLength: 1, maxLength: 150 },
  )
  .chain((rows) => {
    const catalog = rows.map((row) => product(row.id, `product ${row.id}`, row.price));
    return fc
      .shuffledSubarray(catalog, { minLength: 1, maxLength: Math.min(MAX_LINES, catalog.length) })
      .chain((ordered) =>
        fc
          .array(fc.integer({ min: 1, max: MAX_QUANTITY }), { minLength: ordered.length, maxLength: ordered.length })
          .map((quantities) => ({
            catalog,
            lines: ordered.map((p, index) => ({ productId: p.id, quantity: quantities[index] ?? 0 })),
          })),
      );
  });

describe("priceOrder properties", () => {
  test("the total is the exact (BigInt) sum of quantity x unit price, and every line is priced exactly", () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 1, max: MAX_ID }), ({ catalog, lines }, clientId) => {
        const priceOf = new Map(catalog.map((p) => [p.id, BigInt(p.priceCents)]));
        const expectedLines = lines.map((l) => {
          const unit = priceOf.get(l.productId) ?? -1n;
          return { ...l, unit, total: unit * BigInt(l.quantity) };
        });
        const expectedTotal = expectedLines.reduce((sum, l) => sum + l.total, 0n);
        expect(expectedTotal <= BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);

        const result = priceOrder(command(clientId, lines), catalog);

        expect(result).toEqual(
          E.right({
            clientId,
            lines: expectedLines.map((l) => ({
              productId: l.productId,
              quantity: l.quantity,
              unitPriceCents: Number(l.unit),
              lineTotalCents: Number(l.total),
            })),
            totalCents: Number(expectedTotal),
          }),
        );
        if (E.isRight(result)) {
          expect(BigInt(result.right.totalCents)).toBe(expectedTotal);
          expect(JSON.stringify(centsToUnits(result.right.totalCents))).toBe(decimalOf(expectedTotal));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("centsToUnits", () => {
  test.each<readonly [amount: number, json: string]>([
    [0, "0"],
    [1, "0.01"],
    [5, "0.05"],
    [10, "0.1"],
    [99, "0.99"],
    [100, "1"],
    [1_999, "19.99"],
    [300_000, "3000"],
    [123_456_789, "1234567.89"],
    [100_000_000_000_000, "1000000000000"],
    [99_999_999_999_999, "999999999999.99"],
  ])("%d cents is rendered by JSON as %s", (amount, json) => {
    expect(JSON.stringify(centsToUnits(cents(amount)))).toBe(json);
    expect(JSON.stringify({ total: centsToUnits(cents(amount)) })).toBe(`{"total":${json}}`);
  });

  test("for every total within the bounds, units are Number(total)/100 and JSON prints the exact decimal", () => {
    // Totals never exceed 100 lines x 1000 units x 10^9 cents = 10^14 cents.
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 14n }), (total) => {
        const units = centsToUnits(cents(Number(total)));
        expect(units).toBe(Number(total) / 100);
        expect(JSON.stringify(units)).toBe(decimalOf(total));
      }),
      { numRuns: 2_000 },
    );
  });
});
