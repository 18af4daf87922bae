import * as TE from "fp-ts/TaskEither";
import type { Quarantine, QuarantinedRecord } from "../../domain/ports";

export interface MemoryQuarantine extends Quarantine {
  /** Every record put so far, in order. */
  readonly records: () => ReadonlyArray<QuarantinedRecord>;
  /** Each `put` call's records, in order: one entry per call. */
  readonly puts: () => ReadonlyArray<ReadonlyArray<QuarantinedRecord>>;
}

/**
 * An in-process quarantine for the local runtime and tests. It keeps what it is given (a
 * copy of each batch, so a caller reusing its array cannot rewrite history) and never fails.
 */
export const createMemoryQuarantine = (): MemoryQuarantine => {
  const batches: Array<ReadonlyArray<QuarantinedRecord>> = [];
  return {
    put: (records) =>
      TE.fromIO(() => {
        batches.push([...records]);
      }),
    records: () => batches.flat(),
    puts: () => [...batches],
  };
};
