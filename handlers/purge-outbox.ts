import type { SQSRecord } from "aws-lambda";
import { type Either, isLeft, left, right } from "fp-ts/Either";
import { createOutboxJanitor } from "../adapters/postgres/outbox-janitor.kysely";
import type { DomainError } from "../domain/errors";
import type { OutboxEnvelope } from "../domain/outbox-event";
import type { OutboxJanitor } from "../domain/ports";
import { configuredEntry } from "./support/configuration";
import { databaseSettings, sharedDb } from "./support/database";
import { debugPerRecord } from "./support/logger";
import { domainFailure, envelopeOf, sqsBatchHandlerOf } from "./support/sqs-message";

export interface PurgeOutboxDeps {
  readonly janitor: OutboxJanitor;
}

const decoded = (record: SQSRecord): Either<unknown, OutboxEnvelope> => {
  try {
    return right(envelopeOf(record));
  } catch (error) {
    return left(error);
  }
};

/**
 * SQS "outbox-purge" -> DELETE the delivered events' outbox rows, the whole batch's in ONE
 * statement; partial batch failures. Each message is decoded on its own: a malformed one
 * fails alone and its id is not in the statement. The statement's outcome is every decoded
 * message's: a row already gone is a success (a redelivery), and a failed statement deleted
 * nothing, so every message of it fails and is retried.
 */
export const makePurgeOutboxHandler = (deps: () => Promise<PurgeOutboxDeps>) =>
  sqsBatchHandlerOf((records) => {
    const envelopes = new Map<SQSRecord, Either<unknown, OutboxEnvelope>>(records.map((record) => [record, decoded(record)]));
    const ids = [...envelopes.values()].flatMap((envelope) => (isLeft(envelope) ? [] : [envelope.right.eventId]));
    let purged: Promise<Either<DomainError, number>> | undefined;
    const purgeBatch = () => (purged ??= deps().then((d) => d.janitor.purge(ids)()));
    return async (record: SQSRecord): Promise<number> => {
      const envelope = envelopes.get(record) ?? decoded(record);
      if (isLeft(envelope)) throw envelope.left;
      const { eventId } = envelope.right;
      // A record not seen by `forBatch` (never, with the batch processor) is purged on its own.
      const deleted = envelopes.has(record) ? await purgeBatch() : await (await deps()).janitor.purge([eventId])();
      if (isLeft(deleted)) throw domainFailure(deleted.left, `could not purge ${eventId}`);
      debugPerRecord("outbox row purged", { eventId, deletedInBatch: deleted.right, batchSize: ids.length });
      return deleted.right;
    };
  });

/** Lambda entry point (SQS "outbox-purge" queue). */
export const handler = configuredEntry(
  [databaseSettings],
  makePurgeOutboxHandler(async () => ({ janitor: createOutboxJanitor(await sharedDb()) })),
);
