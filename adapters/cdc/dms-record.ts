import * as E from "fp-ts/Either";
import { pipe } from "fp-ts/function";
import * as O from "fp-ts/Option";
import * as t from "io-ts";
import { IsoInstant, OutboxEnvelope, Uuid } from "../../domain/outbox-event";
import { OUTBOX_SCHEMA, OUTBOX_TABLE } from "../../domain/contracts";
import { guardedDecode, preview, reasonOf } from "../../domain/validation";

/**
 * AWS DMS change records in its JSON message format (what DMS writes to Kinesis, and what the
 * local log tailer writes too), and the one mapping the pipeline needs: an outbox row insert
 * to the `OutboxEnvelope` every consumer sees. See DESIGN.md section 5.
 *
 *   {"data": {...columns...}, "metadata": {"record-type": "data", "operation": "insert", ...}}
 *   {"control": {...}, "metadata": {"record-type": "control", "operation": "create-table", ...}}
 *
 * Only the metadata the decision needs is required; the rest (`timestamp`, `transaction-id`,
 * `partition-key-type`, `stream-position`, ...) is DMS's to change without stopping the pipe.
 */

/** The outbox's names are the pipeline's contract (domain/contracts.ts); re-exported for the renderer. */
export { OUTBOX_SCHEMA, OUTBOX_TABLE };

const DmsRecordType = t.keyof({ data: null, control: null });

/**
 * Row operations of data records. An operation outside this list is not skipped: it goes to
 * the quarantine, so a format change shows up as an alarm instead of as missing events.
 */
export const DmsDataOperation = t.keyof({ load: null, insert: null, update: null, delete: null });
export type DmsDataOperation = t.TypeOf<typeof DmsDataOperation>;

const DmsRecordHeader = t.type({ metadata: t.type({ "record-type": DmsRecordType }) }, "DmsRecord");

const DmsDataRecord = t.type(
  {
    data: t.UnknownRecord,
    metadata: t.type({
      "record-type": t.literal("data"),
      operation: DmsDataOperation,
      "schema-name": t.string,
      "table-name": t.string,
    }),
  },
  "DmsDataRecord",
);
type DmsDataRecord = t.TypeOf<typeof DmsDataRecord>;

/** Control records (table definitions, DDL): published samples show a `control` object, or none at all. */
const DmsControlRecord = t.type(
  {
    metadata: t.type({
      "record-type": t.literal("control"),
      operation: t.string,
      "schema-name": t.string,
      "table-name": t.string,
    }),
  },
  "DmsControlRecord",
);
type DmsControlRecord = t.TypeOf<typeof DmsControlRecord>;

type DmsRecord = DmsDataRecord | DmsControlRecord;

const decodeHeader = guardedDecode(DmsRecordHeader);
const decodeData = guardedDecode(DmsDataRecord);
const decodeControl = guardedDecode(DmsControlRecord);

/** Decodes the envelope of any DMS record; `left` names every field that is wrong. */
const decodeDmsRecord = (record: unknown): E.Either<string, DmsRecord> =>
  pipe(
    decodeHeader(record),
    E.chain((header): t.Validation<DmsRecord> =>
      header.metadata["record-type"] === "data" ? decodeData(record) : decodeControl(record),
    ),
    E.mapLeft((errors) => `not a DMS record: ${reasonOf(errors)}`),
  );

// ---- column codecs: what DMS does to the outbox's PostgreSQL types ----

/** The envelope's own codec for the version, so a column accepts exactly what the envelope does. */
const PositiveInt = OutboxEnvelope.type.props.eventVersion;

/** `integer` columns are numbers, but a numeric string (e.g. from a text-typed mapping) is the same value. */
const EventVersion = new t.Type<t.TypeOf<typeof PositiveInt>, number, unknown>(
  "EventVersion",
  PositiveInt.is,
  (u, c) =>
    typeof u === "number"
      ? PositiveInt.validate(u, c)
      : typeof u === "string" && /^\d{1,15}$/.test(u)
        ? PositiveInt.validate(Number(u), c)
        : t.failure(u, c, `expected a positive integer or numeric string, got ${preview(u)}`),
  t.identity,
);

/** The aggregate id is text in the table; a number (a numeric mapping upstream) means the same id. */
const AggregateId = new t.Type<string, string, unknown>(
  "AggregateId",
  (u): u is string => typeof u === "string",
  (u, c) =>
    typeof u === "string"
      ? t.success(u)
      : typeof u === "number" && Number.isFinite(u)
        ? t.success(String(u))
        : t.failure(u, c, `expected a string or number, got ${preview(u)}`),
  t.identity,
);

const TIMESTAMPTZ =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/;

/**
 * A `timestamptz` as an ISO instant at millisecond precision (`2024-02-09T13:20:20.123Z`).
 * Accepts ISO-8601 and PostgreSQL's text output (`2024-02-09 13:20:20.123456+00`, `+05:30`,
 * historic `+05:53:28` offsets); no offset is read as UTC, the zone DMS and our tailer
 * render instants in.
 * Sub-millisecond digits are truncated, as `Date` does. Pure: no clock, no locale.
 * Only the PostgreSQL spellings are read here; whether the date exists is the domain's one
 * calendar check (`IsoInstant`), asked about the local date and time written as ISO-8601.
 */
export const parseTimestamptz = (text: string): E.Either<string, IsoInstant> => {
  const m = TIMESTAMPTZ.exec(text);
  if (m === null) return E.left(`expected an ISO-8601 or PostgreSQL timestamp, got ${preview(text)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7) as [string, string, string, string, string, string];
  const millis = (m[7] ?? "").padEnd(3, "0").slice(0, 3);
  const sign = m[9] === "-" ? -1 : 1;
  const [offsetH, offsetM, offsetS] = [m[10], m[11], m[12]].map((part) => Number(part ?? "0")) as [number, number, number];
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59 || offsetH > 15 || offsetM > 59 || offsetS > 59) {
    return E.left(`not a valid time of day or offset: ${preview(text)}`);
  }
  // The time of day is valid, so a refusal can only be the date (2024-02-30, month 13).
  const local = `${year}-${month}-${day}T${hour}:${minute}:${second}.${millis}Z`;
  if (!IsoInstant.is(local)) return E.left(`not a valid calendar date: ${preview(text)}`);
  const offsetMs = sign * ((offsetH * 60 + offsetM) * 60 + offsetS) * 1000;
  const iso = new Date(Date.parse(local) - offsetMs).toISOString();
  return IsoInstant.is(iso) ? E.right(iso) : E.left(`instant out of range: ${preview(text)}`);
};

/** The form parseTimestamptz answers with: an instant in UTC to the millisecond. */
const CANONICAL_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const OccurredAt = new t.Type<IsoInstant, string, unknown>(
  "OccurredAt",
  IsoInstant.is,
  (u, c) => {
    if (typeof u !== "string") return t.failure(u, c, `expected a timestamp string, got ${preview(u)}`);
    // Already in the answer's form (as the local tailer writes it): parsing would give it back.
    if (CANONICAL_INSTANT.test(u) && IsoInstant.is(u)) return t.success(u);
    return pipe(
      parseTimestamptz(u),
      E.match((reason) => t.failure(u, c, reason), t.success),
    );
  },
  t.identity,
);

/**
 * DMS writes `jsonb` columns as JSON text. An object is accepted too (a mapping that already
 * parsed it); a string that is not JSON is a broken record, never a string payload.
 */
const JsonbPayload = new t.Type<unknown, unknown, unknown>(
  "JsonbPayload",
  t.unknown.is,
  (u, c) => {
    if (typeof u === "object" && u !== null) return t.success(u);
    if (typeof u !== "string") return t.failure(u, c, `expected JSON text or an object, got ${preview(u)}`);
    try {
      return t.success(JSON.parse(u) as unknown);
    } catch (cause) {
      return t.failure(u, c, `not valid JSON (${cause instanceof Error ? cause.message : String(cause)}): ${preview(u)}`);
    }
  },
  t.identity,
);

/** The outbox columns of an insert, whitelisted: other columns never reach the envelope. */
const OutboxColumns = t.type(
  {
    id: Uuid,
    event_type: t.string,
    event_version: EventVersion,
    aggregate_type: t.string,
    aggregate_id: AggregateId,
    occurred_at: OccurredAt,
    payload: JsonbPayload,
  },
  "OutboxColumns",
);

const isOutboxTable = (metadata: DmsDataRecord["metadata"]): boolean =>
  metadata["schema-name"] === OUTBOX_SCHEMA && metadata["table-name"] === OUTBOX_TABLE;

/** Column paths in reasons read `data.<column>`, as in the record. */
const OutboxRowData = t.type({ data: OutboxColumns }, "OutboxRowData");

/** An outbox row image as an envelope; `left` names each offending column as `data.<column>`. */
const envelopeFromOutboxColumns = (data: Record<string, unknown>): E.Either<string, OutboxEnvelope> =>
  pipe(
    OutboxRowData.decode({ data }),
    E.mapLeft((errors) => `invalid outbox row: ${reasonOf(errors)}`),
    // Each column's codec yields the envelope's own field type: decoded once, renamed here.
    E.map(
      ({ data: row }): OutboxEnvelope => ({
        eventId: row.id,
        eventType: row.event_type,
        eventVersion: row.event_version,
        aggregateType: row.aggregate_type,
        aggregateId: row.aggregate_id,
        occurredAt: row.occurred_at,
        payload: row.payload,
      }),
    ),
  );

const isDataRecord = (record: DmsRecord): record is DmsDataRecord => record.metadata["record-type"] === "data";

/**
 * `some(envelope)` for a new outbox row (`insert` from CDC, `load` from a full load);
 * `none` for every other well-formed record, skipped on purpose (the purge's deletes,
 * control records, other tables); `left(reason)` for anything that cannot be trusted.
 */
export const outboxEventFromDmsRecord = (record: unknown): E.Either<string, O.Option<OutboxEnvelope>> =>
  pipe(
    decodeDmsRecord(record),
    E.chain((decoded) => {
      if (!isDataRecord(decoded)) return E.right(O.none);
      const { data, metadata } = decoded;
      if (!isOutboxTable(metadata)) return E.right(O.none);
      if (metadata.operation !== "insert" && metadata.operation !== "load") return E.right(O.none);
      return pipe(envelopeFromOutboxColumns(data), E.map(O.some));
    }),
  );
