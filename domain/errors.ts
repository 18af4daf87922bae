/**
 * Expected failures are values with a stable `code`; handlers map them to HTTP statuses in
 * one exhaustive switch. Infrastructure failures are caught at the adapter edge and arrive
 * here as `Unavailable`, carrying the cause for the logs only.
 */

/** One problem with a request, located by a path such as `products[0].quantity`. */
export interface Issue {
  readonly path: string;
  readonly code: IssueCode;
  readonly message: string;
}

export type IssueCode =
  | "required"
  | "invalid_type"
  | "not_integer"
  | "out_of_range"
  | "empty"
  | "too_many"
  | "duplicate"
  | "unknown_field";

export interface ValidationFailed {
  readonly code: "ValidationFailed";
  readonly issues: ReadonlyArray<Issue>;
}

export interface ClientNotFound {
  readonly code: "ClientNotFound";
  readonly clientId: number;
}

export interface ProductNotFound {
  readonly code: "ProductNotFound";
  readonly productIds: ReadonlyArray<number>;
}

/** The same idempotency key was sent again with a different request. */
export interface DuplicateRequest {
  readonly code: "DuplicateRequest";
  readonly idempotencyKey: string;
}

export interface Unavailable {
  readonly code: "Unavailable";
  readonly operation: string;
  readonly cause: unknown;
}

/**
 * The read model has no generation: it was wiped (a Redis restart without persistence, a
 * failover to an empty node) or a rebuild is running. Nothing was read or written; retrying
 * after the rebuild succeeds.
 */
export interface ReadModelUnavailable {
  readonly code: "ReadModelUnavailable";
}

export type DomainError =
  | ValidationFailed
  | ClientNotFound
  | ProductNotFound
  | DuplicateRequest
  | Unavailable
  | ReadModelUnavailable;

export const validationFailed = (issues: ReadonlyArray<Issue>): DomainError => ({ code: "ValidationFailed", issues });
export const clientNotFound = (clientId: number): DomainError => ({ code: "ClientNotFound", clientId });
export const productNotFound = (productIds: ReadonlyArray<number>): DomainError => ({
  code: "ProductNotFound",
  productIds,
});
export const duplicateRequest = (idempotencyKey: string): DomainError => ({ code: "DuplicateRequest", idempotencyKey });
export const unavailable = (operation: string) => (cause: unknown): DomainError => ({
  code: "Unavailable",
  operation,
  cause,
});
export const readModelUnavailable = (): DomainError => ({ code: "ReadModelUnavailable" });
