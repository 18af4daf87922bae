import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import { outboxEventFromDmsRecord } from "../../adapters/cdc/dms-record";
import { dmsRecordForOutboxRow } from "../../adapters/cdc/dms-record-render";
import { createMemoryQuarantine } from "../../adapters/quarantine/memory-quarantine";
import { cents } from "../../domain/money";
import { type OrderPlaced, type Uuid, orderPlaced } from "../../domain/outbox-event";
import { makeEnrichOutboxHandler } from "../../handlers/enrich-outbox";
import dmsInsert from "../fixtures/aws-events/dms-postgres-insert.json";
import pipesInput from "../fixtures/aws-events/pipes-kinesis-enrichment-input.json";
import { migratedDatabase, type TestDatabase } from "../support/database";

/**
 * The enrichment's assumptions about PostgreSQL, checked against a real server: what
 * `timestamptz` and `jsonb` look like as text (how DMS and the WAL carry them) and as the
 * values node-pg returns (what the local tailer may hold), in sessions at several offsets.
 */

let database: TestDatabase;

beforeAll(async () => {
  database = await migratedDatabase(2);
});

afterAll(async () => {
  await database.drop();
});

const event = (eventId: string, occurredAt: string, name: string): OrderPlaced =>
  orderPlaced({
    eventId: eventId as Uuid,
    orderId: `order-${eventId.slice(0, 8)}`,
    client: { id: 3, name, email: "john@anemailprovider.com" },
    occurredAt: new Date(occurredAt),
    totalCents: cents(100_000),
    items: [{ productId: 3, quantity: 1, unitPriceCents: cents(100_000) }],
  });

const EVENTS = [
  event("11111111-1111-4111-8111-111111111111", "2024-02-09T13:20:20.123Z", "John"),
  event("22222222-2222-4222-8222-222222222222", "2024-02-09T23:59:59.500Z", 'Zoë "the \\ quote" \u2028 😀'),
  event("33333333-3333-4333-8333-333333333333", "2024-12-31T23:30:00.000Z", ""),
];

beforeAll(async () => {
  // As the order store writes them: jsonb from JSON text, timestamptz from the ISO instant.
  await database.db
    .insertInto("outbox")
    .values(
      EVENTS.map((e) => ({
        id: e.eventId,
        aggregate_type: e.aggregateType,
        aggregate_id: e.aggregateId,
        event_type: e.eventType,
        event_version: e.eventVersion,
        payload: JSON.stringify(e.payload),
        occurred_at: e.occurredAt,
      })),
    )
    .execute();
});

interface TextRow {
  readonly id: string;
  readonly aggregate_type: string;
  readonly aggregate_id: string;
  readonly event_type: string;
  readonly event_version: string;
  readonly payload: string;
  readonly occurred_at: string;
  readonly occurred_at_utc: string;
}

/** Every column as PostgreSQL prints it, in a session at `timeZone`. */
const rowsAsText = async (timeZone: string): Promise<TextRow[]> => {
  const client = await database.pool.connect();
  try {
    await client.query(`SET TimeZone = '${timeZone}'`);
    const result = await client.query<TextRow>(
      `SELECT id::text, aggregate_type, aggregate_id, event_type, event_version::text, payload::text,
              occurred_at::text, (occurred_at AT TIME ZONE 'UTC')::text AS occurred_at_utc
         FROM outbox ORDER BY id`,
    );
    return result.rows;
  } finally {
    client.release();
  }
};

const dmsInsertOf = (data: Record<string, unknown>): unknown => ({
  data,
  metadata: { ...dmsInsert.metadata, "table-name": "outbox" },
});

describe("outbox rows as PostgreSQL prints them", () => {
  it.each(["UTC", "Asia/Kolkata", "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham"])(
    "decode to the stored events in a %s session (offset text, jsonb text, numeric strings)",
    async (timeZone) => {
      const rows = await rowsAsText(timeZone);
      expect(rows.map((row) => outboxEventFromDmsRecord(dmsInsertOf({ ...row, occurred_at_utc: undefined })))).toEqual(
        EVENTS.map((e) => E.right(O.some(e))),
      );
      if (timeZone !== "UTC") expect(rows[0]?.occurred_at).not.toMatch(/\+00$/);
    },
  );

  it("decode from a timestamp without zone (UTC), as DMS may render it", async () => {
    const rows = await rowsAsText("Asia/Kolkata");
    expect(rows.map((row) => outboxEventFromDmsRecord(dmsInsertOf({ ...row, occurred_at: row.occurred_at_utc })))).toEqual(
      EVENTS.map((e) => E.right(O.some(e))),
    );
  });

  it("truncate microseconds the server keeps", async () => {
    const client = await database.pool.connect();
    try {
      await client.query("SET TimeZone = 'Asia/Kolkata'");
      const { rows } = await client.query<{ t: string }>(`SELECT '2024-02-09 13:20:20.123999+00'::timestamptz::text AS t`);
      expect(rows[0]?.t).toBe("2024-02-09 18:50:20.123999+05:30");
      const withMicros = { ...(await rowsAsText("UTC"))[0], occurred_at: rows[0]?.t };
      expect(outboxEventFromDmsRecord(dmsInsertOf(withMicros))).toEqual(E.right(O.some(EVENTS[0])));
    } finally {
      client.release();
    }
  });
});

describe("outbox rows as node-pg returns them, rendered by dmsRecordForOutboxRow", () => {
  it("go through the enrichment handler back to the stored events, in order", async () => {
    const rows = await database.db.selectFrom("outbox").selectAll().orderBy("id").execute();
    expect(rows[0]?.occurred_at).toBeInstanceOf(Date);
    const records = rows.map((row, i) => ({
      ...pipesInput[0],
      sequenceNumber: `${i}`,
      data: Buffer.from(
        JSON.stringify(dmsRecordForOutboxRow(row, "insert", { transactionId: 900 + i, commitTimestamp: row.occurred_at })),
      ).toString("base64"),
    }));
    const quarantine = createMemoryQuarantine();
    await expect(makeEnrichOutboxHandler({ quarantine })(records)).resolves.toEqual(EVENTS);
    expect(quarantine.records()).toEqual([]);
  });
});
