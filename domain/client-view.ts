import * as O from "fp-ts/Option";
import { pipe } from "fp-ts/function";
import * as t from "io-ts";
import { type Cents, addCents, centsToUnits } from "./money";
import type { ClientId } from "./order";
import type { OrderPlaced } from "./outbox-event";
import { boundedInt } from "./validation";

/**
 * The query side's summary of one client. Delivery is at-least-once and unordered, so every
 * field is built from an operation that is commutative and associative: sums, a count, a
 * max, and last-writer-wins by a total order on (occurredAt, eventId) for the profile.
 */
export interface ClientView {
  readonly clientId: ClientId;
  readonly name: string;
  readonly email: string;
  readonly totalCents: Cents;
  /** Epoch seconds of the latest order. */
  readonly lastPurchase: number;
  readonly orderCount: number;
  /** The event whose name and email the view shows: the greatest by (occurredAtMs, eventId). */
  readonly profileVersion: ProfileVersion;
}

interface ProfileVersion {
  readonly occurredAtMs: number;
  readonly eventId: string;
}

/**
 * The version an event stamps on the profile it carries: its instant in epoch milliseconds
 * and its event id in lower case, compared by `isNewer`.
 */
const profileVersionOf = (event: OrderPlaced): ProfileVersion => ({
  occurredAtMs: Date.parse(event.occurredAt),
  eventId: event.eventId.toLowerCase(),
});

/** Total order on versions; event ids break ties between events of the same millisecond. */
const isNewer = (a: ProfileVersion, b: ProfileVersion): boolean =>
  a.occurredAtMs !== b.occurredAtMs ? a.occurredAtMs > b.occurredAtMs : a.eventId > b.eventId;

/**
 * What one event contributes to its client's view: the view it would make alone. The Redis
 * adapter sends exactly these fields to its apply script, which merges them into the stored
 * hash as `merge` does below.
 */
export const contributionOf = (event: OrderPlaced): ClientView => ({
  clientId: event.payload.clientId,
  name: event.payload.clientName,
  email: event.payload.clientEmail,
  totalCents: event.payload.totalCents,
  lastPurchase: event.payload.placedAt,
  orderCount: 1,
  profileVersion: profileVersionOf(event),
});

/**
 * THE read-model rule, the one specification of it: two views of the same client combine
 * by sums (total, count), a max (last purchase) and last-writer-wins by `isNewer` (profile).
 * Commutative and associative, so any delivery order gives the same view. The Lua apply
 * script (adapters/redis) and the rebuild's SQL aggregate (adapters/postgres) implement it
 * where the data is; their parity tests take this reducer as the reference.
 */
const merge = (current: ClientView, next: ClientView): ClientView => {
  const newer = isNewer(next.profileVersion, current.profileVersion);
  return {
    clientId: current.clientId,
    name: newer ? next.name : current.name,
    email: newer ? next.email : current.email,
    totalCents: addCents(current.totalCents, next.totalCents),
    lastPurchase: Math.max(current.lastPurchase, next.lastPurchase),
    orderCount: current.orderCount + next.orderCount,
    profileVersion: newer ? next.profileVersion : current.profileVersion,
  };
};

/**
 * The projection reducer: `apply(view | none, event) -> view`. It is commutative, so any
 * delivery order gives the same view; it is not idempotent by itself: redeliveries are
 * absorbed by event id (the Redis adapter's marker key).
 */
export const apply = (view: O.Option<ClientView>, event: OrderPlaced): ClientView =>
  pipe(
    view,
    O.match(
      () => contributionOf(event),
      (current) => merge(current, contributionOf(event)),
    ),
  );

// ---- GET /clients/{id_client} response (the original sample's shape) ----

export const ClientViewResponse = t.exact(
  t.type({ name: t.string, email: t.string, total: t.number, last_purchase: boundedInt("EpochSeconds", 0, Number.MAX_SAFE_INTEGER) }),
);
export type ClientViewResponse = t.TypeOf<typeof ClientViewResponse>;

/** Whitelists the fields the API shows; internal ones (profile version, count) stay inside. */
export const viewToResponse = (view: ClientView): ClientViewResponse => ({
  name: view.name,
  email: view.email,
  total: centsToUnits(view.totalCents),
  last_purchase: view.lastPurchase,
});
