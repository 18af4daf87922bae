import { SendMessageBatchCommand, type SendMessageBatchCommandOutput } from "@aws-sdk/client-sqs";
import { pipe } from "fp-ts/function";
import * as TE from "fp-ts/TaskEither";
import { type DomainError, unavailable } from "../../domain/errors";
import type { Clock, Quarantine, QuarantinedRecord } from "../../domain/ports";

/**
 * The quarantine on AWS: an SQS queue (with an alarm on its depth) that keeps every record
 * the pipe could not decode, as JSON `{reason, raw, quarantinedAt}`.
 */

/**
 * 256 KiB per message and per batch. SQS now takes up to 1 MiB, but a queue created with
 * the old default `MaximumMessageSize` still refuses more, and SendMessageBatch caps the
 * SUM of its bodies at the same size as one message: the conservative bound works for both.
 */
export const MAX_BODY_BYTES = 256 * 1024;
/** SendMessageBatch's entry limit. */
export const MAX_BATCH_ENTRIES = 10;
/** Room left for the reason when `raw` must be cut: a reason is a line, not a payload. */
const MAX_REASON_CHARS = 8 * 1024;

/** What the quarantine needs of an `SQSClient`; a real client fits, and so does a test fake. */
export interface SqsBatchSender {
  readonly send: (command: SendMessageBatchCommand) => Promise<Pick<SendMessageBatchCommandOutput, "Successful" | "Failed">>;
}

const byteLength = (text: string): number => Buffer.byteLength(text, "utf8");

/**
 * SQS refuses U+FFFE and U+FFFF, which JSON.stringify leaves raw. In its output they can
 * only sit inside strings, where the `\uXXXX` escape is the same JSON value.
 */
const sqsSafe = (json: string): string =>
  json.replace(/[\uFFFE\uFFFF]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16)}`);

/** `raw` as JSON text when it is JSON-able (it is, coming from Pipes), else its string form. */
const rawAsText = (raw: unknown): string => {
  try {
    return JSON.stringify(raw) ?? String(raw);
  } catch {
    return String(raw);
  }
};

const tryStringify = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
};

/**
 * One message body. When the whole record does not fit, `raw` becomes the longest prefix of
 * its JSON text that does, with `rawTruncated: true` and `rawBytes` (the full size) so a
 * reader knows the record was cut, and by how much.
 */
export const quarantineMessageBody = (record: QuarantinedRecord, quarantinedAt: string, maxBytes = MAX_BODY_BYTES): string => {
  const whole = tryStringify({ reason: record.reason, raw: record.raw, quarantinedAt });
  if (whole !== undefined && byteLength(sqsSafe(whole)) <= maxBytes) return sqsSafe(whole);

  const text = rawAsText(record.raw);
  const reason = record.reason.length > MAX_REASON_CHARS ? `${record.reason.slice(0, MAX_REASON_CHARS)}...` : record.reason;
  const render = (length: number): string => {
    // Never end on half a surrogate pair: the prefix stays valid text.
    const cut = /[\uD800-\uDBFF]$/.test(text.slice(0, length)) ? length - 1 : length;
    return sqsSafe(
      JSON.stringify({ reason, raw: text.slice(0, cut), rawTruncated: true, rawBytes: byteLength(text), quarantinedAt }),
    );
  };
  // The body grows with the prefix (escapes make it grow faster): the largest fitting length.
  let fits = 0;
  let tooLong = text.length + 1;
  while (tooLong - fits > 1) {
    const mid = Math.floor((fits + tooLong) / 2);
    if (byteLength(render(mid)) <= maxBytes) fits = mid;
    else tooLong = mid;
  }
  return render(fits);
};

/** Greedy: at most 10 entries and `maxBytes` of bodies per batch, in order. */
export const chunkBodies = (bodies: ReadonlyArray<string>, maxBytes = MAX_BODY_BYTES): ReadonlyArray<ReadonlyArray<string>> => {
  const batches: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const body of bodies) {
    const bytes = byteLength(body);
    if (current.length > 0 && (current.length === MAX_BATCH_ENTRIES || size + bytes > maxBytes)) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(body);
    size += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
};

export const createSqsQuarantine = (client: SqsBatchSender, queueUrl: string, clock: Clock): Quarantine => {
  const sendBatch = (bodies: ReadonlyArray<string>): TE.TaskEither<DomainError, void> => {
    const entries = bodies.map((body, i) => ({ Id: String(i), MessageBody: body }));
    return pipe(
      TE.tryCatch(
        () => client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })),
        unavailable("quarantine records"),
      ),
      TE.chain((output) => {
        // A batch succeeds entry by entry: the call can return 200 with some entries failed.
        // An entry reported neither way is treated as failed too; a retry may duplicate a
        // quarantined record, which is harmless, while a gap would lose one.
        const failed = output.Failed ?? [];
        const answered = new Set([...(output.Successful ?? []), ...failed].map((entry) => entry.Id));
        const missing = entries.filter((entry) => !answered.has(entry.Id)).map((entry) => entry.Id);
        return failed.length === 0 && missing.length === 0
          ? TE.right(undefined)
          : TE.left(unavailable("quarantine records")({ failed, unconfirmed: missing }));
      }),
    );
  };

  return {
    put: (records) =>
      pipe(
        TE.fromIO(() => {
          const quarantinedAt = clock.now().toISOString();
          return chunkBodies(records.map((record) => quarantineMessageBody(record, quarantinedAt)));
        }),
        // In order, one at a time: the first failure stops the rest and the caller retries all.
        TE.chain(TE.traverseSeqArray(sendBatch)),
        TE.map(() => undefined),
      ),
  };
};
