import * as t from "io-ts";

/**
 * Money is an integer number of cents, never a float. Every amount that fits the system's
 * bounds (prices up to 10^9 cents, 1000 units a line, 100 lines an order, and running totals)
 * stays far below Number.MAX_SAFE_INTEGER (9e15), so a safe integer is exact and JSON-friendly.
 */
interface CentsBrand {
  readonly Cents: unique symbol;
}
export const Cents = t.brand(
  t.Int,
  (n): n is t.Branded<t.Int, CentsBrand> => n >= 0 && Number.isSafeInteger(n),
  "Cents",
);
export type Cents = t.TypeOf<typeof Cents>;

/** For literals and values already known to be valid (tests, SQL aggregates checked elsewhere). */
export const cents = (n: number): Cents => {
  if (!Cents.is(n)) throw new RangeError(`not an amount of cents: ${n}`);
  return n;
};

export const addCents = (a: Cents, b: Cents): Cents => cents(a + b);

export const multiplyCents = (amount: Cents, quantity: number): Cents => cents(amount * quantity);

export const sumCents = (amounts: ReadonlyArray<Cents>): Cents => amounts.reduce(addCents, cents(0));

/**
 * Cents as currency units for the API (300000 -> 3000, 1999 -> 19.99). Dividing an integer
 * by 100 gives the nearest double to the exact decimal, which JSON prints exactly as that
 * decimal; the arithmetic itself never happens in floating point.
 */
export const centsToUnits = (amount: Cents): number => amount / 100;
