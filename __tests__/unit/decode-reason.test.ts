import * as E from "fp-ts/Either";
import { reasonOf } from "../../domain/validation";
import { outboxEventFromDmsRecord } from "../../adapters/cdc/dms-record";
import { OutboxEnvelope } from "../../domain/outbox-event";
import { envelopeOf } from "../../handlers/support/sqs-message";

/**
 * One formatter for decode errors (domain/validation.ts): a bad envelope refused by the
 * enrichment (its reason goes to the quarantine) reads the same as the same bad envelope
 * refused by a consumer (its reason goes with the message to the dead-letter queue).
 */

const envelope = {
  eventId: "0b3f3a1e-2f0c-4c55-8f43-1d2e3c4b5a69",
  eventType: "OrderPlaced",
  eventVersion: 1,
  aggregateType: "client",
  aggregateId: "1",
  occurredAt: "2024-02-09T13:20:20.000Z",
  payload: { clientId: 1 },
};

/** The outbox row of `e` in a DMS insert record, as DMS writes it (jsonb as text). */
const dmsInsertOf = (e: Record<string, unknown>): unknown => ({
  data: {
    id: e.eventId,
    event_type: e.eventType,
    event_version: e.eventVersion,
    aggregate_type: e.aggregateType,
    aggregate_id: e.aggregateId,
    occurred_at: e.occurredAt,
    payload: JSON.stringify(e.payload),
  },
  metadata: { "record-type": "data", operation: "insert", "schema-name": "public", "table-name": "outbox" },
});

/** The dead-letter reason: what the consumer's decode throws for an SQS message of `body`. */
const deadLetterReason = (body: unknown): string => {
  try {
    envelopeOf({ body: JSON.stringify(body) });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the message to be refused");
};

/** The quarantine reason the enrichment gives a DMS record. */
const quarantineReason = (record: unknown): string => {
  const result = outboxEventFromDmsRecord(record);
  if (E.isRight(result)) throw new Error("expected the record to be refused");
  return result.left;
};

/** The same bad envelope, each problem on a field the outbox row and the envelope share. */
const BAD: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ["an event id that is not a uuid", { ...envelope, eventId: "42" }],
  ["a null event type", { ...envelope, eventType: null }],
  ["event version 0", { ...envelope, eventVersion: 0 }],
  ["a missing aggregate type", { ...envelope, aggregateType: undefined }],
  ["two problems at once", { ...envelope, eventVersion: 0, eventType: 7 }],
];

/** `column` of the outbox row is `field` of the envelope. */
const COLUMN_OF: Record<string, string> = {
  eventId: "id",
  eventType: "event_type",
  eventVersion: "event_version",
  aggregateType: "aggregate_type",
};

describe("a bad envelope reads the same in the quarantine and in the dead-letter queue", () => {
  it.each(BAD)("%s", (_case, bad) => {
    const dlq = deadLetterReason(bad);
    const quarantined = quarantineReason(dmsInsertOf(bad));

    // The consumer's reason is the shared formatter's text for the envelope's errors...
    const decoded = OutboxEnvelope.decode(bad);
    expect(E.isLeft(decoded) && `not an OutboxEvent: ${reasonOf(decoded.left)}`).toBe(dlq);
    // ...and the enrichment's is the same text, each field named by its column as in the record.
    const asColumns = Object.entries(COLUMN_OF).reduce(
      (text, [field, column]) => text.replace(new RegExp(`(^|; )${field}: `, "g"), `$1data.${column}: `),
      dlq.replace(/^not an OutboxEvent: /, ""),
    );
    expect(quarantined).toBe(`invalid outbox row: ${asColumns}`);
  });

  it("names the problem, the expected type and the value", () => {
    expect(deadLetterReason({ ...envelope, eventId: "42" })).toBe('not an OutboxEvent: eventId: expected Uuid, got "42"');
    expect(quarantineReason(dmsInsertOf({ ...envelope, eventVersion: 0 }))).toBe(
      "invalid outbox row: data.event_version: out_of_range: expected an integer from 1 to 9007199254740991, got 0",
    );
    expect(deadLetterReason({ ...envelope, aggregateType: undefined })).toBe("not an OutboxEvent: aggregateType: missing");
  });

  it("words a message that is no object at all as the shared formatter does, with no path", () => {
    const decoded = OutboxEnvelope.decode(42);
    expect(E.isLeft(decoded)).toBe(true);
    const expected = E.isLeft(decoded) ? reasonOf(decoded.left) : "";
    expect(expected).not.toMatch(/^\$/);
    expect(deadLetterReason(42)).toBe(`not an OutboxEvent: ${expected}`);
  });
});
