import { type DmsDataOperation, OUTBOX_SCHEMA, OUTBOX_TABLE } from "./dms-record";

/*
 * The other direction of dms-record.ts: an outbox row change rendered as DMS writes it to
 * Kinesis, for the local log tailer, which stands in for DMS.
 */

/** An outbox row as read from the table (or decoded from the WAL): `payload` is the JSON value. */
export interface OutboxRowImage {
  readonly id: string;
  readonly aggregate_type: string;
  readonly aggregate_id: string;
  readonly event_type: string;
  readonly event_version: number;
  readonly payload: unknown;
  /** A `Date`, or PostgreSQL's text form as the WAL carries it (passed through unchanged). */
  readonly occurred_at: Date | string;
}

/** With the default replica identity, the WAL of a delete carries the primary key only. */
export type OutboxRowKey = Pick<OutboxRowImage, "id">;

export interface DmsChangeMeta {
  /** PostgreSQL's transaction id (xid); DMS omits it for full-load records. */
  readonly transactionId: number;
  /** When the transaction committed; DMS omits it for full-load records. */
  readonly commitTimestamp: Date;
  /** When the record was written to the stream; the commit time when absent. */
  readonly timestamp?: Date;
  /** 1-based position of the change within its transaction. */
  readonly transactionRecordId?: number;
  /** The source position (an LSN), opaque to consumers. */
  readonly streamPosition?: string;
}

export interface RenderedDmsDataRecord {
  readonly data: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
}

/** DMS writes timestamps with microseconds and `Z`; a `Date` has milliseconds. */
const dmsTimestamp = (date: Date): string => date.toISOString().replace(/Z$/, "000Z");

const OUTBOX_COLUMNS = ["id", "aggregate_type", "aggregate_id", "event_type", "event_version", "payload", "occurred_at"] as const;

/**
 * Renders an outbox row change the way DMS writes it to Kinesis (JSON message format):
 * `jsonb` as JSON text, a `Date` as an ISO instant, every column present (null when the
 * change does not carry it: a delete carries only `id`), `partition-key-type:
 * attribute-name` because our task maps the Kinesis partition key to `aggregate_id`.
 * Full-load records carry no transaction metadata, as DMS's own do not.
 */
export function dmsRecordForOutboxRow(row: OutboxRowKey, operation: "delete", meta: DmsChangeMeta): RenderedDmsDataRecord;
export function dmsRecordForOutboxRow(
  row: OutboxRowImage,
  operation: "insert" | "load" | "update",
  meta: DmsChangeMeta,
): RenderedDmsDataRecord;
export function dmsRecordForOutboxRow(
  row: OutboxRowKey | OutboxRowImage,
  operation: DmsDataOperation,
  meta: DmsChangeMeta,
): RenderedDmsDataRecord {
  const full = operation === "delete" ? undefined : (row as OutboxRowImage);
  const data: Record<string, unknown> = Object.fromEntries(OUTBOX_COLUMNS.map((column) => [column, null]));
  data.id = row.id;
  if (full !== undefined) {
    data.aggregate_type = full.aggregate_type;
    data.aggregate_id = full.aggregate_id;
    data.event_type = full.event_type;
    data.event_version = full.event_version;
    data.payload = JSON.stringify(full.payload);
    data.occurred_at = full.occurred_at instanceof Date ? full.occurred_at.toISOString() : full.occurred_at;
  }
  const change =
    operation === "load"
      ? {}
      : {
          "commit-timestamp": dmsTimestamp(meta.commitTimestamp),
          "transaction-id": meta.transactionId,
          ...(meta.transactionRecordId === undefined ? {} : { "transaction-record-id": meta.transactionRecordId }),
          ...(meta.streamPosition === undefined ? {} : { "stream-position": meta.streamPosition }),
        };
  return {
    data,
    metadata: {
      timestamp: dmsTimestamp(meta.timestamp ?? meta.commitTimestamp),
      "record-type": "data",
      operation,
      "partition-key-type": "attribute-name",
      "schema-name": OUTBOX_SCHEMA,
      "table-name": OUTBOX_TABLE,
      ...change,
    },
  };
}
