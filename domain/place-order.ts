import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import * as TE from "fp-ts/TaskEither";
import { pipe } from "fp-ts/function";
import { clientNotFound, type DomainError } from "./errors";
import { type PlaceOrderCommand, priceOrder } from "./order";
import { orderPlaced } from "./outbox-event";
import type { Clock, IdGenerator, IdempotencyClaim, NewOrder, OrderReads, OrderStore, PlacedOrder } from "./ports";

export interface PlaceOrderDeps {
  readonly orders: OrderStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

/** A validated request: the transport decoded it (wire names, headers) before the use case runs. */
export interface PlaceOrderInput {
  readonly command: PlaceOrderCommand;
  readonly idempotencyKey: O.Option<string>;
}

/**
 * Canonical text of a command: key order, whitespace and the order of the lines do not
 * matter (a product appears at most once, so the lines are a set).
 */
export const fingerprint = (command: PlaceOrderCommand): string =>
  JSON.stringify([
    command.clientId,
    [...command.lines].sort((a, b) => a.productId - b.productId).map((line) => [line.productId, line.quantity]),
  ]);

/** Pure: prices the order and builds its event from what the store read. */
export const decideOrder =
  (command: PlaceOrderCommand, ids: IdGenerator, clock: Clock) =>
  (reads: OrderReads): TE.TaskEither<DomainError, NewOrder> =>
    pipe(
      TE.Do,
      TE.apS(
        "client",
        pipe(reads.clients.findClient(command.clientId), TE.chain(TE.fromOption(() => clientNotFound(command.clientId)))),
      ),
      TE.apS("products", reads.catalog.findProducts(command.lines.map((line) => line.productId))),
      TE.chainEitherK(({ client, products }) =>
        pipe(
          priceOrder(command, products),
          E.map((priced): NewOrder => {
            const occurredAt = clock.now();
            const id = ids.uuid();
            const event = orderPlaced({
              eventId: ids.uuid(),
              orderId: id,
              client,
              occurredAt,
              totalCents: priced.totalCents,
              items: priced.lines.map(({ productId, quantity, unitPriceCents }) => ({ productId, quantity, unitPriceCents })),
            });
            return {
              id,
              clientId: client.id,
              placedAt: event.payload.placedAt,
              totalCents: priced.totalCents,
              lines: priced.lines,
              event,
            };
          }),
        ),
      ),
    );

/** The place-order use case: price a validated command and write it atomically. */
export const placeOrder =
  (deps: PlaceOrderDeps) =>
  ({ command, idempotencyKey }: PlaceOrderInput): TE.TaskEither<DomainError, PlacedOrder> =>
    deps.orders.placeOrder(
      pipe(
        idempotencyKey,
        O.map((key): IdempotencyClaim => ({ key, fingerprint: fingerprint(command) })),
      ),
      { clientId: command.clientId, productIds: command.lines.map((line) => line.productId) },
      decideOrder(command, deps.ids, deps.clock),
    );
