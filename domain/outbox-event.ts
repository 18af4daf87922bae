import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import { pipe } from "fp-ts/function";
import * as t from "io-ts";
import { Cents } from "./money";
import { boundedInt, guardedDecode, reasonOf } from "./validation";
import type { Client } from "./order";

/** RFC 4122 textual form, any version. */
export interface UuidBrand {
  readonly Uuid: unique symbol;
}
export const Uuid = t.brand(
  t.string,
  (s): s is t.Branded<string, UuidBrand> => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  "Uuid",
);
export type Uuid = t.TypeOf<typeof Uuid>;

/** An ISO-8601 instant with an explicit offset, e.g. `2024-02-09T13:20:20.000Z`. */
export interface IsoInstantBrand {
  readonly IsoInstant: unique symbol;
}
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

/** A calendar date and clock time that exist: `Date.parse` would turn 2024-02-30 into 1 March. */
const isRealInstant = (s: string): boolean => {
  const m = ISO_INSTANT.exec(s);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // Date.UTC would read years below 100 as 19xx
  return (
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    (m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59))
  );
};

export const IsoInstant = t.brand(
  t.string,
  (s): s is t.Branded<string, IsoInstantBrand> => isRealInstant(s),
  "IsoInstant",
);
export type IsoInstant = t.TypeOf<typeof IsoInstant>;

const PositiveInt = boundedInt("PositiveInt", 1, Number.MAX_SAFE_INTEGER);
const EpochSeconds = boundedInt("EpochSeconds", 0, Number.MAX_SAFE_INTEGER);

export const OrderPlacedItem = t.readonly(
  t.type({ productId: PositiveInt, quantity: PositiveInt, unitPriceCents: Cents }),
);

/** `OrderPlaced` v1: everything the read side needs, so consumers never call back. */
export const OrderPlacedV1 = t.readonly(
  t.type({
    orderId: t.string,
    clientId: PositiveInt,
    clientName: t.string,
    clientEmail: t.string,
    totalCents: Cents,
    placedAt: EpochSeconds,
    items: t.readonlyArray(OrderPlacedItem),
  }),
);
export type OrderPlacedV1 = t.TypeOf<typeof OrderPlacedV1>;

/** The envelope every consumer sees, whatever the event type. */
export const OutboxEnvelope = t.readonly(
  t.type({
    eventId: Uuid,
    eventType: t.string,
    eventVersion: PositiveInt,
    aggregateType: t.string,
    aggregateId: t.string,
    occurredAt: IsoInstant,
    payload: t.unknown,
  }),
);
export type OutboxEnvelope = t.TypeOf<typeof OutboxEnvelope>;

export const OrderPlaced = t.readonly(
  t.type({
    eventId: Uuid,
    eventType: t.literal("OrderPlaced"),
    eventVersion: t.literal(1),
    aggregateType: t.literal("client"),
    aggregateId: t.string,
    occurredAt: IsoInstant,
    payload: OrderPlacedV1,
  }),
);
export type OrderPlaced = t.TypeOf<typeof OrderPlaced>;

const decodeOrderPlaced = guardedDecode(OrderPlaced);

/** Every event type this version of the system understands. */
export const OutboxEvent = OrderPlaced;
export type OutboxEvent = OrderPlaced;

export interface OrderPlacedFacts {
  readonly eventId: Uuid;
  readonly orderId: string;
  readonly client: Client;
  readonly occurredAt: Date;
  readonly totalCents: Cents;
  readonly items: OrderPlacedV1["items"];
}

export const orderPlaced = (facts: OrderPlacedFacts): OrderPlaced => ({
  eventId: facts.eventId,
  eventType: "OrderPlaced",
  eventVersion: 1,
  aggregateType: "client",
  aggregateId: String(facts.client.id),
  occurredAt: facts.occurredAt.toISOString() as IsoInstant,
  payload: {
    orderId: facts.orderId,
    clientId: facts.client.id,
    clientName: facts.client.name,
    clientEmail: facts.client.email,
    totalCents: facts.totalCents,
    placedAt: Math.floor(facts.occurredAt.getTime() / 1000),
    items: facts.items,
  },
});

/** The (type, version) pairs this version of the system understands. */
export const KNOWN_EVENTS: ReadonlyArray<readonly [string, number]> = [["OrderPlaced", 1]];

/**
 * An envelope as an event this system understands: `none` when its (type, version) is not
 * one of ours (a newer producer; consumers acknowledge and log it), `left` with the reasons
 * when it claims a known type but breaks that type's contract (a bug upstream: the message
 * must fail and reach a dead-letter queue, never be silently acknowledged).
 */
export const decodeOutboxEvent = (envelope: OutboxEnvelope): E.Either<string, O.Option<OutboxEvent>> => {
  if (!KNOWN_EVENTS.some(([type, version]) => envelope.eventType === type && envelope.eventVersion === version)) {
    return E.right(O.none);
  }
  return pipe(
    decodeOrderPlaced(envelope),
    E.mapLeft(reasonOf),
    E.filterOrElse(
      (event) => event.aggregateId === String(event.payload.clientId),
      (event) => `aggregateId ${event.aggregateId} is not payload.clientId ${event.payload.clientId}`,
    ),
    E.map(O.some),
  );
};
