import type * as O from "fp-ts/Option";
import type { TaskEither } from "fp-ts/TaskEither";
import type { ClientView } from "./client-view";
import type { DomainError } from "./errors";
import type { Cents } from "./money";
import type { Client, ClientId, PricedLine, Product, ProductId } from "./order";
import type { OutboxEvent, Uuid } from "./outbox-event";

/**
 * Ports: records of functions returning `TaskEither`. Real implementations are bound in one
 * composition root per entry point (each handler module, the local runtime).
 */

export interface Clock {
  readonly now: () => Date;
}

export interface IdGenerator {
  readonly uuid: () => Uuid;
}

export interface Catalog {
  /** The products among `ids` that exist, at their current price. */
  readonly findProducts: (ids: ReadonlyArray<ProductId>) => TaskEither<DomainError, ReadonlyArray<Product>>;
}

export interface ClientDirectory {
  readonly findClient: (id: ClientId) => TaskEither<DomainError, O.Option<Client>>;
}

/** An order ready to be written, with the event that announces it. */
export interface NewOrder {
  readonly id: string;
  readonly clientId: ClientId;
  /** Epoch seconds. */
  readonly placedAt: number;
  readonly totalCents: Cents;
  readonly lines: ReadonlyArray<PricedLine>;
  readonly event: OutboxEvent;
}

export interface PlacedOrder {
  readonly orderId: string;
  readonly clientId: ClientId;
  readonly totalCents: Cents;
  readonly placedAt: number;
  /** True when this is the stored result of an earlier request with the same idempotency key. */
  readonly replayed: boolean;
}

export interface IdempotencyClaim {
  readonly key: string;
  /** A canonical rendering of the command: the same key with another fingerprint is a conflict. */
  readonly fingerprint: string;
}

/**
 * The reads `decide` is given. They are not inside the write's transaction: under READ
 * COMMITTED (the isolation the store uses) every statement sees the data committed when it
 * starts and the reads take no lock, so reads inside a transaction were no more consistent
 * with its write than reads just before it. What the write relies on is checked by the write
 * itself: the client by its foreign key, the idempotency key by its unique index.
 */
export interface OrderReads {
  readonly catalog: Catalog;
  readonly clients: ClientDirectory;
}

/** What `decide` is going to read, so the store can fetch it all in one round trip first. */
export interface OrderReadsWanted {
  readonly clientId: ClientId;
  readonly productIds: ReadonlyArray<ProductId>;
}

export interface OrderStore {
  /**
   * If the idempotency key was used, return that order (or `DuplicateRequest` when the
   * fingerprint differs); otherwise run `decide` with reads of `wanted` (fetched together
   * with the key's lookup) and insert the order, its lines and its outbox event in ONE
   * atomic statement. Any failure leaves nothing written.
   */
  readonly placeOrder: (
    idempotency: O.Option<IdempotencyClaim>,
    wanted: OrderReadsWanted,
    decide: (reads: OrderReads) => TaskEither<DomainError, NewOrder>,
  ) => TaskEither<DomainError, PlacedOrder>;
}

export type ApplyOutcome = "applied" | "duplicate";

export interface ClientViewStore {
  /** Applies an event atomically and at most once per event id. */
  readonly apply: (event: OutboxEvent) => TaskEither<DomainError, ApplyOutcome>;
  readonly get: (clientId: ClientId) => TaskEither<DomainError, O.Option<ClientView>>;
}

export interface OutboxJanitor {
  /**
   * Deletes the outbox rows of delivered events; missing rows are fine. Returns how many rows
   * the statement deleted (it may carry other purges made at the same time).
   */
  readonly purge: (eventIds: ReadonlyArray<Uuid>) => TaskEither<DomainError, number>;
}

/** A record the pipeline could not decode, kept with the reason instead of being dropped. */
export interface QuarantinedRecord {
  /** The record exactly as received (e.g. the Kinesis record with its base64 data). */
  readonly raw: unknown;
  readonly reason: string;
}

export interface Quarantine {
  readonly put: (records: ReadonlyArray<QuarantinedRecord>) => TaskEither<DomainError, void>;
}
