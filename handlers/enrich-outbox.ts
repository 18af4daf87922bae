import { SQSClient } from "@aws-sdk/client-sqs";
import * as E from "fp-ts/Either";
import { pipe } from "fp-ts/function";
import * as O from "fp-ts/Option";
import { createSqsQuarantine } from "../adapters/quarantine/sqs-quarantine";
import { outboxEventFromDmsRecord } from "../adapters/cdc/dms-record";
import { jsonFromKinesisRecord, sequenceNumberOf } from "../adapters/cdc/kinesis-record";
import type { OutboxEnvelope } from "../domain/outbox-event";
import type { Quarantine, QuarantinedRecord } from "../domain/ports";
import { configuredEntry, once } from "./support/configuration";
import { logger } from "./support/logger";

export interface EnrichOutboxDeps {
  readonly quarantine: Quarantine;
}

/** One Kinesis record's fate: an event, skipped on purpose (`none`), or undecodable (`left`). */
const enrichRecord = (record: unknown): E.Either<string, O.Option<OutboxEnvelope>> => {
  try {
    return pipe(jsonFromKinesisRecord(record), E.chain(outboxEventFromDmsRecord));
  } catch (cause) {
    // The decoders are total; this is a bug's safety net, so one odd record cannot fail
    // (and endlessly retry) a batch of good ones.
    return E.left(`unexpected error while decoding: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
};

/**
 * Keeps the undecodable records, or throws. Pipes has no partial failure for enrichment:
 * throwing fails the whole batch and the pipe retries it (then, per its retry policy, sends
 * it to the pipe's DLQ), so the good events of the batch are delivered again, which the
 * consumers absorb by event id. Returning normally instead would drop the bad records for
 * good: a duplicate is recoverable, a lost record is not.
 */
const keep = async (quarantine: Quarantine, records: ReadonlyArray<QuarantinedRecord>): Promise<void> => {
  const result = await quarantine.put(records)();
  if (E.isLeft(result)) {
    logger.error("quarantine failed: failing the batch so the pipe retries it", { count: records.length, error: result.left });
    throw new Error(`quarantine failed (${result.left.code}): ${records.length} undecodable record(s) not kept`, {
      cause: result.left,
    });
  }
};

const kindOf = (value: unknown): string => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value);

/**
 * EventBridge Pipes enrichment: Kinesis records carrying DMS change records in, the outbox
 * events they announce out (in input order), for the pipe's SNS target. Skipped records
 * (control records, the purge's deletes, other tables) are dropped on purpose; undecodable
 * ones go to the quarantine in one `put` per invocation, never silently.
 */
export const makeEnrichOutboxHandler =
  (deps: EnrichOutboxDeps) =>
  async (records: unknown): Promise<OutboxEnvelope[]> => {
    if (!Array.isArray(records)) {
      const reason = `expected an array of Kinesis records, got ${kindOf(records)}`;
      logger.warn("undecodable enrichment input", { reason });
      await keep(deps.quarantine, [{ raw: records, reason }]);
      return [];
    }
    const events: OutboxEnvelope[] = [];
    const undecodable: QuarantinedRecord[] = [];
    for (const record of records as ReadonlyArray<unknown>) {
      const result = enrichRecord(record);
      if (E.isLeft(result)) {
        logger.warn("undecodable record", { reason: result.left, sequenceNumber: sequenceNumberOf(record) });
        undecodable.push({ raw: record, reason: result.left });
      } else if (O.isSome(result.right)) {
        events.push(result.right.value);
      }
    }
    if (undecodable.length > 0) await keep(deps.quarantine, undecodable);
    return events;
  };

/**
 * Read once, when the module loads (cold start). Checked before the first batch, not only
 * when a bad record shows up, so a missing setting fails loudly instead of hiding until the
 * day it matters: inside Lambda it fails the init phase (see `configuredEntry`).
 */
const QUARANTINE_QUEUE_URL = process.env.QUARANTINE_QUEUE_URL;

const quarantineQueueUrl = once((): string => {
  if (QUARANTINE_QUEUE_URL === undefined || QUARANTINE_QUEUE_URL === "") {
    throw new Error("QUARANTINE_QUEUE_URL is not set: undecodable records would have nowhere to go");
  }
  return QUARANTINE_QUEUE_URL;
});

const productionHandler = once(() =>
  makeEnrichOutboxHandler({
    quarantine: createSqsQuarantine(new SQSClient({}), quarantineQueueUrl(), { now: () => new Date() }),
  }),
);

/** Lambda entry point (EventBridge Pipes enrichment of the Kinesis source). */
export const handler = configuredEntry([quarantineQueueUrl], async (records: unknown): Promise<OutboxEnvelope[]> => productionHandler()(records));
