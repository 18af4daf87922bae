import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { isLeft } from "fp-ts/Either";
import type { DomainError } from "../../domain/errors";
import { OutboxEnvelope } from "../../domain/outbox-event";
import { guardedDecode, reasonOf } from "../../domain/validation";
import { asError, describeFailure, logger } from "./logger";

/**
 * The JSON message an SQS record carries, delivered raw (RawMessageDelivery) or inside the
 * SNS envelope (`{"Type": "Notification", "Message": "<json>"}`), parsed once and not yet
 * decoded. Throws on a body that is not JSON or a notification without a string Message.
 */
export const messageOf = (record: Pick<SQSRecord, "body">): unknown => {
  const message: unknown = JSON.parse(record.body);
  if (typeof message === "object" && message !== null && (message as { Type?: unknown }).Type === "Notification") {
    const inner = (message as { Message?: unknown }).Message;
    if (typeof inner !== "string") throw new Error("SNS notification without a string Message");
    return JSON.parse(inner);
  }
  return message;
};

const decodeOutboxEnvelope = guardedDecode(OutboxEnvelope);

/** A parsed message as an OutboxEvent envelope; throws (naming every problem) on anything else. */
export const decodeEnvelope = (message: unknown): OutboxEnvelope => {
  const decoded = decodeOutboxEnvelope(message);
  if (isLeft(decoded)) throw new Error(`not an OutboxEvent: ${reasonOf(decoded.left)}`);
  return decoded.right;
};

/**
 * The OutboxEvent in an SQS message (see `messageOf`). Throws on anything else: the batch
 * processor then reports the message as failed, and after the redrive limit it goes to the
 * dead-letter queue.
 */
export const envelopeOf = (record: Pick<SQSRecord, "body">): OutboxEnvelope => decodeEnvelope(messageOf(record));

/**
 * A failure with a stable code, logged as a field of its own (`code`) so that a log metric
 * filter can count it without parsing the reason.
 */
export class CodedFailure extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CodedFailure";
    this.code = code;
  }
}

/**
 * A domain failure as the error that fails a message, its code logged as a field; the
 * failure itself is the `cause` (for `Unavailable`, the driver's error it carries), so the
 * log and the dead letter's reason keep what actually went wrong.
 */
export const domainFailure = (error: DomainError, what: string): CodedFailure =>
  error.code === "Unavailable"
    ? new CodedFailure(error.code, `${error.code}: ${what} (${error.operation})`, { cause: error.cause })
    : new CodedFailure(error.code, `${error.code}: ${what}`, { cause: error });

const failureReasons = new WeakMap<SQSBatchResponse, ReadonlyMap<string, string>>();

/**
 * Why each message of a response failed, for a caller in the same process (the local
 * runtime keeps it with its dead letters). SQS itself gets only the message ids.
 */
export const failureReasonsOf = (response: SQSBatchResponse): ReadonlyMap<string, string> =>
  failureReasons.get(response) ?? new Map();

/**
 * An SQS consumer that handles each message on its own and reports only the failed ones
 * (ReportBatchItemFailures), so one poison message does not fail its batch. Each failure
 * is logged here and only here, once, with its message id, the error with its `cause` chain
 * (and the code of a `CodedFailure`), so the reason a message ends in the dead-letter queue is
 * in the logs; the record handlers throw and never log a failure themselves.
 */
export const sqsBatchHandler = (handleRecord: (record: SQSRecord) => Promise<unknown>) => sqsBatchHandlerOf(() => handleRecord);

/**
 * As `sqsBatchHandler`, for a consumer that does part of its work once per batch: `forBatch`
 * sees every record of the batch first (before any record is handled) and returns the handler
 * of each record, which may share a promise started for the whole batch. Each message still
 * succeeds or fails on its own, and is logged and reported as such.
 */
export const sqsBatchHandlerOf = (forBatch: (records: ReadonlyArray<SQSRecord>) => (record: SQSRecord) => Promise<unknown>) =>
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // A processor per batch: it keeps the batch's records and failures in fields of its
    // own, and the local runtime runs several batches of one handler at once. One shared
    // processor let a batch that started meanwhile clear another's failures, which then
    // came back as successes: their events were never applied, yet acknowledged.
    const processor = new BatchProcessor(EventType.SQS);
    const reasons = new Map<string, string>();
    const handleRecord = forBatch(event.Records);
    const response = await processPartialResponse(
      event,
      async (record: SQSRecord) => {
        try {
          return await handleRecord(record);
        } catch (error) {
          const reason = describeFailure(error);
          reasons.set(record.messageId, reason);
          const code = error instanceof CodedFailure ? { code: error.code } : {};
          logger.error("message failed", { messageId: record.messageId, reason, ...code, error: asError(error, "message failed") });
          throw error;
        }
      },
      processor,
      // A batch that failed whole is reported item by item, as any other: the same retries
      // on AWS, and each message keeps its own reason.
      { context, throwOnFullBatchFailure: false },
    );
    failureReasons.set(response, reasons);
    return response;
  };
