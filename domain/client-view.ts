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

export interface ProfileVersion {
  readonly occurredAtMs: number;
  readonly eventId: string;
}

export const profileVersionOf = (event: OrderPlaced): ProfileVersion => ({
  occurredAtMs: Date.parse(event.occurredAt),
  eventId: event.eventId.toLowerCase(),
});

/** Total order on versions; event ids break ties between events of the same millisecond. */
export const isNewer = (a: ProfileVersion, b: ProfileVersion): boolean =>
  a.occurredAtMs !== b.occurredAtMs ? a.occurredAtMs > b.occurredAtMs : a.eventId > b.eventId;

const fromEvent = (event: OrderPlaced): ClientView => ({
  clientId: event.payload.clientId,
  name: event.payload.clientName,
  email: event.payload.clientEmail,
  totalCents: event.payload.totalCents,
  lastPurchase: event.payload.placedAt,
  orderCount: 1,
  profileVersion: profileVersionOf(event),
});

/**
 * The projection reducer: `apply(view | none, event) -> view`. It is commutative, so any
 * delivery order gives the same view; it is not idempotent by itself: `applyOnce` absorbs
 * redeliveries by event id (the Redis adapter does the same with a marker key).
 */
export const apply = (view: O.Option<ClientView>, event: OrderPlaced): ClientView =>
  pipe(
    view,
    O.match(
      () => fromEvent(event),
      (current) => {
        const candidate = profileVersionOf(event);
        const newer = isNewer(candidate, current.profileVersion);
        return {
          clientId: current.clientId,
          name: newer ? event.payload.clientName : current.name,
          email: newer ? event.payload.clientEmail : current.email,
          totalCents: addCents(current.totalCents, event.payload.totalCents),
          lastPurchase: Math.max(current.lastPurchase, event.payload.placedAt),
          orderCount: current.orderCount + 1,
          profileVersion: newer ? candidate : current.profileVersion,
        };
      },
    ),
  );

/** A view together with the ids of the events already in it. */
export interface Projection {
  readonly view: O.Option<ClientView>;
  readonly applied: ReadonlySet<string>;
}

export const emptyProjection: Projection = { view: O.none, applied: new Set() };

/** Applies an event exactly once: a second delivery of the same event id changes nothing. */
export const applyOnce = (projection: Projection, event: OrderPlaced): Projection => {
  const id = event.eventId.toLowerCase();
  if (projection.applied.has(id)) return projection;
  return { view: O.some(apply(projection.view, event)), applied: new Set([...projection.applied, id]) };
};

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
