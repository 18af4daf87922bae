import type { SQSRecord } from "aws-lambda";
import { isLeft } from "fp-ts/Either";
import { createOutboxJanitor } from "../adapters/postgres/outbox-janitor.kysely";
import type { OutboxJanitor } from "../domain/ports";
import { configuredEntry } from "./support/configuration";
import { databaseSettings, sharedDb } from "./support/database";
import { logger } from "./support/logger";
import { domainFailure, envelopeOf, sqsBatchHandler } from "./support/sqs-message";

export interface PurgeOutboxDeps {
  readonly janitor: OutboxJanitor;
}

/** SQS "outbox-purge" -> DELETE the delivered events' outbox rows; partial batch failures. */
export const makePurgeOutboxHandler = (deps: () => Promise<PurgeOutboxDeps>) =>
  sqsBatchHandler(async (record: SQSRecord): Promise<number> => {
    const envelope = envelopeOf(record);
    const deleted = await (await deps()).janitor.purge([envelope.eventId])();
    if (isLeft(deleted)) throw domainFailure(deleted.left, `could not purge ${envelope.eventId}`);
    logger.debug("outbox row purged", { eventId: envelope.eventId, deleted: deleted.right });
    return deleted.right;
  });

/** Lambda entry point (SQS "outbox-purge" queue). */
export const handler = configuredEntry(
  [databaseSettings],
  makePurgeOutboxHandler(async () => ({ janitor: createOutboxJanitor(await sharedDb()) })),
);
