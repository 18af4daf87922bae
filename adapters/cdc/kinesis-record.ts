import * as E from "fp-ts/Either";
import { pipe } from "fp-ts/function";
import * as t from "io-ts";
import { guardedDecode, preview, reasonOf } from "../../domain/validation";

/**
 * A Kinesis record as EventBridge Pipes hands it to an enrichment function: flat, unlike
 * the `Records[i].kinesis` nesting of a Lambda event source mapping. Only `data` is needed;
 * the rest is typed when present because it identifies the record in logs.
 */
const optional = <C extends t.Mixed>(codec: C) => t.union([codec, t.undefined]);

export const PipesKinesisRecord = t.type(
  {
    data: t.string,
    partitionKey: optional(t.string),
    sequenceNumber: optional(t.string),
    eventID: optional(t.string),
    approximateArrivalTimestamp: optional(t.number),
  },
  "PipesKinesisRecord",
);
export type PipesKinesisRecord = t.TypeOf<typeof PipesKinesisRecord>;
const decodePipesKinesisRecord = guardedDecode(PipesKinesisRecord);

/**
 * The bytes of canonical base64 with padding, as Kinesis produces it, or undefined.
 * Buffer.from(s, "base64") alone would silently skip foreign characters (and accept the
 * URL-safe alphabet, or no padding) and decode a corrupted record into different bytes: the
 * bytes are taken only when they encode back to exactly the text given. One native encode,
 * several times cheaper than a regular expression over the whole text.
 */
const canonicalBase64 = (text: string): Buffer | undefined => {
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? bytes : undefined;
};

/** `fatal`: a byte sequence that is not UTF-8 is a broken record, not text with U+FFFD in it. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The parsed JSON carried by a Pipes Kinesis record; `left` says which step failed. */
export const jsonFromKinesisRecord = (record: unknown): E.Either<string, unknown> =>
  pipe(
    decodePipesKinesisRecord(record),
    E.mapLeft((errors) => `not a Kinesis record: ${reasonOf(errors)}`),
    E.chain(({ data }) => {
      const bytes = canonicalBase64(data);
      return bytes !== undefined ? E.right(bytes) : E.left(`data: not valid base64: ${preview(data)}`);
    }),
    E.chain((bytes) =>
      E.tryCatch(
        () => utf8.decode(bytes),
        () => "data: not UTF-8 text",
      ),
    ),
    E.chain((text) =>
      E.tryCatch(
        (): unknown => JSON.parse(text),
        (cause) => `data: not JSON (${cause instanceof Error ? cause.message : String(cause)}): ${preview(text)}`,
      ),
    ),
  );

/** The sequence number of anything that looks like a Kinesis record, for log lines. */
export const sequenceNumberOf = (record: unknown): string | undefined => {
  if (typeof record !== "object" || record === null) return undefined;
  const value = (record as { readonly sequenceNumber?: unknown }).sequenceNumber;
  return typeof value === "string" ? value : undefined;
};
