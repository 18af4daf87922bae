import fc from "fast-check";
import * as E from "fp-ts/Either";
import type * as t from "io-ts";
import { PipesKinesisRecord } from "../../adapters/cdc/kinesis-record";
import { cents } from "../../domain/money";
import { OrderPlaced, OutboxEnvelope, type Uuid, orderPlaced } from "../../domain/outbox-event";
import { guardedDecode, reasonOf } from "../../domain/validation";
import pipesInput from "../fixtures/aws-events/pipes-kinesis-enrichment-input.json";

/*
 * guardedDecode answers from the type guard when it says yes. For the non-converting codecs
 * of the hot path that must be what decode answers, for every input: the very input when
 * the guard accepts it (decode answers an equal value), the same reasons on failure.
 */

const EVENT = orderPlaced({
  eventId: "0b6d5c3e-8f5a-4c1b-9a7e-2f3d4c5b6a79" as Uuid,
  orderId: "a8b6d5c3-8f5a-4c1b-9a7e-2f3d4c5b6a79",
  client: { id: 1, name: "Bob", email: "bob@anemailprovider.com" },
  occurredAt: new Date("2024-02-09T13:20:20.123Z"),
  totalCents: cents(150_000),
  items: [{ productId: 2, quantity: 3, unitPriceCents: cents(50_000) }],
});

/** A Kinesis record as Pipes hands it over: the published sample's first. */
const KINESIS = pipesInput[0];

/** Values near the valid ones: each leaf kept, or swapped for an arbitrary value, or dropped. */
const near = (value: unknown): fc.Arbitrary<unknown> => {
  if (Array.isArray(value)) return fc.oneof(fc.tuple(...value.map(near)), fc.anything());
  if (typeof value === "object" && value !== null) {
    const fields = Object.entries(value).map(([key, v]) => fc.option(near(v), { nil: undefined, freq: 8 }).map((x) => [key, x] as const));
    const object = fc.tuple(...fields).map((pairs) => Object.fromEntries(pairs.filter(([, x]) => x !== undefined)));
    return fc.oneof({ weight: 4, arbitrary: object }, { weight: 1, arbitrary: fc.anything() });
  }
  return fc.oneof({ weight: 3, arbitrary: fc.constant(value) }, { weight: 1, arbitrary: fc.anything() });
};

const sameAnswer = <A, O>(codec: t.Type<A, O, unknown>, input: unknown): void => {
  const fast = guardedDecode(codec)(input);
  const slow = codec.decode(input);
  if (codec.is(input)) {
    // Answered by the guard alone, with the input itself: decode must agree on an equal value
    // (its own copy, when a field is NaN: io-ts compares each field with !==).
    expect(E.isRight(fast) && fast.right).toBe(input);
    expect(E.isRight(slow) && slow.right).toStrictEqual(input);
  } else if (E.isLeft(slow)) {
    expect(E.isLeft(fast) && reasonOf(fast.left)).toBe(reasonOf(slow.left));
  } else {
    // Refused by the guard yet valid (a missing optional key): decode's own answer.
    expect(fast).toStrictEqual(slow);
  }
};

describe("guardedDecode", () => {
  it.each([
    ["OrderPlaced", OrderPlaced, EVENT],
    ["OutboxEnvelope", OutboxEnvelope, EVENT],
    ["PipesKinesisRecord", PipesKinesisRecord, KINESIS],
  ] as const)("answers as %s.decode does, for valid inputs and for inputs near them", (_name, codec, valid) => {
    sameAnswer(codec as t.Type<unknown, unknown, unknown>, valid);
    fc.assert(
      fc.property(near(valid), (input) => sameAnswer(codec as t.Type<unknown, unknown, unknown>, input)),
      { numRuns: 5_000 },
    );
  });

  it("hands back the input itself when the guard accepts it, and decodes to explain a refusal", () => {
    const accepted = guardedDecode(OrderPlaced)(EVENT);
    expect(E.isRight(accepted) && accepted.right).toBe(EVENT);
    const refused = guardedDecode(OrderPlaced)({ ...EVENT, eventVersion: 2, payload: { ...EVENT.payload, totalCents: -1 } });
    expect(E.isLeft(refused) && reasonOf(refused.left)).toBe(
      "eventVersion: expected 1, got 2; payload.totalCents: expected Cents, got -1",
    );
  });
});
