import fc from "fast-check";
import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import * as TE from "fp-ts/TaskEither";
import { outboxEventFromDmsRecord } from "../../adapters/cdc/dms-record";
import { dmsRecordForOutboxRow, type OutboxRowImage } from "../../adapters/cdc/dms-record-render";
import { jsonFromKinesisRecord } from "../../adapters/cdc/kinesis-record";
import { createMemoryQuarantine } from "../../adapters/quarantine/memory-quarantine";
import { unavailable } from "../../domain/errors";
import { cents } from "../../domain/money";
import { MAX_ID } from "../../domain/order";
import { type OrderPlaced, type OutboxEnvelope, type Uuid, orderPlaced } from "../../domain/outbox-event";
import type { Quarantine, QuarantinedRecord } from "../../domain/ports";
import type * as enrichOutboxModule from "../../handlers/enrich-outbox";
import { makeEnrichOutboxHandler } from "../../handlers/enrich-outbox";
import controlAwsdms from "../fixtures/aws-events/dms-control-create-table-awsdms-apply-exceptions.json";
import controlCreate from "../fixtures/aws-events/dms-control-create-table.json";
import controlDrop from "../fixtures/aws-events/dms-control-drop-table.json";
import dmsDelete from "../fixtures/aws-events/dms-postgres-delete.json";
import dmsInsert from "../fixtures/aws-events/dms-postgres-insert.json";
import dmsLoad from "../fixtures/aws-events/dms-postgres-load.json";
import dmsUpdatePk from "../fixtures/aws-events/dms-postgres-update-pk-change.json";
import dmsUpdate from "../fixtures/aws-events/dms-postgres-update.json";
import lambdaKinesisEvent from "../fixtures/aws-events/kinesis-stream-event-dms.json";
import pipesInput from "../fixtures/aws-events/pipes-kinesis-enrichment-input.json";

// ---- builders ----

const DMS_FIXTURES: ReadonlyArray<readonly [string, unknown]> = [
  ["dms-postgres-load.json", dmsLoad],
  ["dms-postgres-insert.json", dmsInsert],
  ["dms-postgres-update.json", dmsUpdate],
  ["dms-postgres-update-pk-change.json", dmsUpdatePk],
  ["dms-postgres-delete.json", dmsDelete],
  ["dms-control-create-table.json", controlCreate],
  ["dms-control-drop-table.json", controlDrop],
  ["dms-control-create-table-awsdms-apply-exceptions.json", controlAwsdms],
];

const T0 = new Date("2024-02-09T13:20:20.123Z");

/** A fixed, valid OrderPlaced (the seed's example order: 1 Computer + 3 Phones for Bob). */
const sampleEvent = (eventId: string, occurredAt = T0): OrderPlaced =>
  orderPlaced({
    eventId: eventId as Uuid,
    orderId: "6f1c3a52-8d0e-4a43-9a55-0d2b4c1e7f10",
    client: { id: 1, name: "Bob", email: "bob@anemailprovider.com" },
    occurredAt,
    totalCents: cents(300_000),
    items: [
      { productId: 1, quantity: 1, unitPriceCents: cents(150_000) },
      { productId: 2, quantity: 3, unitPriceCents: cents(50_000) },
    ],
  });

const rowOf = (event: OutboxEnvelope, occurredAt: Date | string = new Date(event.occurredAt)): OutboxRowImage => ({
  id: event.eventId,
  aggregate_type: event.aggregateType,
  aggregate_id: event.aggregateId,
  event_type: event.eventType,
  event_version: event.eventVersion,
  payload: event.payload,
  occurred_at: occurredAt,
});

const meta = { transactionId: 1139, commitTimestamp: new Date("2024-02-09T13:20:20.456Z") };

/**
 * A real captured DMS record (`fixture`) turned into a change of the outbox table: its
 * metadata shape kept, its table and columns replaced.
 */
const asOutboxRecord = (fixture: { readonly metadata: object }, data: Record<string, unknown>): unknown => ({
  data,
  metadata: { ...fixture.metadata, "table-name": "outbox" },
});

/** The outbox columns of `event` as DMS writes them: jsonb as text, timestamptz as a string. */
const outboxColumns = (event: OutboxEnvelope): Record<string, unknown> => ({
  id: event.eventId,
  aggregate_type: event.aggregateType,
  aggregate_id: event.aggregateId,
  event_type: event.eventType,
  event_version: event.eventVersion,
  payload: JSON.stringify(event.payload),
  occurred_at: event.occurredAt,
});

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

let sequence = 0;
/** A Pipes Kinesis record (the documented example's shape) carrying `data` as base64. */
const pipesRecord = (payload: unknown, rawData?: string): Record<string, unknown> => {
  sequence += 1;
  const sequenceNumber = `4959033827149025660855969253836157109592157598913658${String(sequence).padStart(4, "0")}`;
  return {
    ...pipesInput[0],
    sequenceNumber,
    eventID: `shardId-000000000006:${sequenceNumber}`,
    data: rawData ?? base64(JSON.stringify(payload)),
  };
};

/** The Lambda event source shape (`Records[i].kinesis` + envelope) flattened into the Pipes shape. */
const flattenLambdaRecord = ({ kinesis, ...envelope }: (typeof lambdaKinesisEvent.Records)[number]): Record<string, unknown> => ({
  ...kinesis,
  ...envelope,
});

const enrichWithMemory = () => {
  const quarantine = createMemoryQuarantine();
  return { quarantine, enrich: makeEnrichOutboxHandler({ quarantine }) };
};

const EVENT_A = sampleEvent("0b3f3a1e-2f0c-4c55-8f43-1d2e3c4b5a69");
const EVENT_B = sampleEvent("a3c1d2e4-5f60-4718-9a2b-3c4d5e6f7081", new Date("2024-02-10T08:00:00.000Z"));
const EVENT_C = sampleEvent("c0ffee00-1234-4abc-8def-0123456789ab", new Date("2024-02-11T09:30:00.250Z"));

// ---- (a) real DMS samples ----

describe("DMS records: what becomes an event and what is skipped", () => {
  it.each(DMS_FIXTURES)("skips %s (table foo or a control record)", (_name, fixture) => {
    expect(outboxEventFromDmsRecord(fixture)).toEqual(E.right(O.none));
  });

  it.each([
    ["insert", dmsInsert],
    ["load", dmsLoad],
  ] as const)("turns a captured %s record, moved to table outbox, into its event", (_op, fixture) => {
    expect(outboxEventFromDmsRecord(asOutboxRecord(fixture, outboxColumns(EVENT_A)))).toEqual(E.right(O.some(EVENT_A)));
  });

  it.each([
    ["update", dmsUpdate],
    ["update (primary key change)", dmsUpdatePk],
    ["delete", dmsDelete],
  ] as const)("skips a captured %s record of table outbox", (_op, fixture) => {
    expect(outboxEventFromDmsRecord(asOutboxRecord(fixture, outboxColumns(EVENT_A)))).toEqual(E.right(O.none));
  });

  it("skips a table named outbox in another schema", () => {
    const record = asOutboxRecord(dmsInsert, outboxColumns(EVENT_A)) as { metadata: object };
    expect(outboxEventFromDmsRecord({ ...record, metadata: { ...record.metadata, "schema-name": "audit" } })).toEqual(
      E.right(O.none),
    );
  });

  it("accepts the documented variants of the columns: numeric strings, numeric ids, PostgreSQL timestamps, parsed jsonb", () => {
    const data = {
      ...outboxColumns(EVENT_A),
      event_version: "1",
      aggregate_id: 1,
      occurred_at: "2024-02-09 18:50:20.123456+05:30",
      payload: EVENT_A.payload,
    };
    expect(outboxEventFromDmsRecord(asOutboxRecord(dmsInsert, data))).toEqual(E.right(O.some(EVENT_A)));
  });

  it("keeps only the outbox columns: an extra column never reaches the envelope", () => {
    const result = outboxEventFromDmsRecord(asOutboxRecord(dmsInsert, { ...outboxColumns(EVENT_A), secret: "x" }));
    expect(result).toEqual(E.right(O.some(EVENT_A)));
  });

  it.each<readonly [string, (data: Record<string, unknown>) => Record<string, unknown>, RegExp]>([
    ["a payload that is not JSON", (d) => ({ ...d, payload: "{not json" }), /^invalid outbox row: data\.payload: not valid JSON/],
    ["a null payload", (d) => ({ ...d, payload: null }), /data\.payload: expected JSON text or an object, got null/],
    ["a missing event_type", ({ event_type: _, ...d }) => d, /data\.event_type: missing/],
    ["a null event_type", (d) => ({ ...d, event_type: null }), /data\.event_type: expected string, got null/],
    ["an id that is not a uuid", (d) => ({ ...d, id: "42" }), /data\.id: expected Uuid, got "42"/],
    ["event_version 0", (d) => ({ ...d, event_version: 0 }), /data\.event_version: out_of_range/],
    ["event_version 1.5", (d) => ({ ...d, event_version: "1.5" }), /data\.event_version: expected a positive integer/],
    ["an impossible date", (d) => ({ ...d, occurred_at: "2024-02-30 10:00:00+00" }), /data\.occurred_at: not a valid calendar date/],
    ["a date without a time", (d) => ({ ...d, occurred_at: "2024-02-09" }), /data\.occurred_at: expected an ISO-8601 or PostgreSQL timestamp/],
    ["aggregate_id null", (d) => ({ ...d, aggregate_id: null }), /data\.aggregate_id: expected a string or number, got null/],
  ])("refuses an outbox insert with %s, naming the field", (_case, change, reason) => {
    const result = outboxEventFromDmsRecord(asOutboxRecord(dmsInsert, change(outboxColumns(EVENT_A))));
    expect(E.isLeft(result) && result.left).toMatch(reason);
  });

  it.each<readonly [string, unknown, RegExp]>([
    ["no metadata", { data: {} }, /^not a DMS record: metadata: missing/],
    ["an unknown record type", { data: {}, metadata: { ...dmsInsert.metadata, "record-type": "ddl" } }, /metadata\.record-type: expected "data" \| "control", got "ddl"/],
    ["an unknown data operation", { ...dmsInsert, metadata: { ...dmsInsert.metadata, operation: "truncate" } }, /metadata\.operation: expected "load" \| "insert" \| "update" \| "delete", got "truncate"/],
    ["a data record without data", { metadata: dmsInsert.metadata }, /^not a DMS record: data: missing/],
    ["a table name that is not a string", { ...dmsInsert, metadata: { ...dmsInsert.metadata, "table-name": 7 } }, /metadata\.table-name: expected string, got 7/],
    ["an array", [dmsInsert], /^not a DMS record: expected DmsRecord, got \[\{"data"/],
    ["null", null, /^not a DMS record: expected DmsRecord, got null$/],
    ["a string", "insert", /^not a DMS record: expected DmsRecord, got "insert"$/],
  ])("refuses a record with %s", (_case, record, reason) => {
    const result = outboxEventFromDmsRecord(record);
    expect(E.isLeft(result) && result.left).toMatch(reason);
  });
});

// ---- (b) the captured Kinesis event of DMS records ----

describe("the captured Kinesis event of DMS records, in the Pipes shape", () => {
  const records = lambdaKinesisEvent.Records.map(flattenLambdaRecord);

  it("decodes each record's data to the DMS record it carries", () => {
    // The stream fixture carries the same two records as the standalone DMS samples.
    expect(records.map(jsonFromKinesisRecord)).toEqual([E.right(controlCreate), E.right(dmsInsert)]);
  });

  it("skips them all (a control record and an insert into foo) and quarantines nothing", async () => {
    const { quarantine, enrich } = enrichWithMemory();
    await expect(enrich(records)).resolves.toEqual([]);
    expect(quarantine.puts()).toEqual([]);
  });
});

// ---- (c) the documented Pipes example ----

describe("the EventBridge documentation's Kinesis enrichment input", () => {
  it("quarantines both records (their data is plain text, not JSON) and returns no events", async () => {
    const { quarantine, enrich } = enrichWithMemory();
    await expect(enrich(pipesInput)).resolves.toEqual([]);
    expect(quarantine.puts()).toEqual([
      [
        { raw: pipesInput[0], reason: expect.stringMatching(/^data: not JSON .*"Hello, this is a test\."$/) },
        { raw: pipesInput[1], reason: expect.stringMatching(/^data: not JSON .*"This is only a test\."$/) },
      ],
    ]);
  });
});

// ---- (d) round trip through the project's own DMS rendering ----

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/**
 * `ms` (+ `extraMicros`) as PostgreSQL prints a timestamptz in a session at `offsetMinutes`:
 * `2024-02-09 18:50:20.123456+05:30`, trailing zeros of the fraction dropped, `+00` for UTC;
 * `withOffset: false` is a `timestamp` (UTC) without zone.
 */
const pgText = (ms: number, extraMicros: number, offsetMinutes: number, withOffset: boolean): string => {
  const local = new Date(ms + (withOffset ? offsetMinutes : 0) * 60_000);
  const fraction = `${pad(local.getUTCMilliseconds(), 3)}${pad(extraMicros, 3)}`.replace(/0+$/, "");
  const date = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const time = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  if (!withOffset) return `${date} ${time}${fraction === "" ? "" : `.${fraction}`}`;
  const abs = Math.abs(offsetMinutes);
  const zone = `${offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}${abs % 60 === 0 ? "" : `:${pad(abs % 60)}`}`;
  return `${date} ${time}${fraction === "" ? "" : `.${fraction}`}${zone}`;
};

describe("pgText (the test's own oracle)", () => {
  it("prints what PostgreSQL prints", () => {
    expect(pgText(Date.parse("2024-02-09T13:20:20.123Z"), 456, 330, true)).toBe("2024-02-09 18:50:20.123456+05:30");
    expect(pgText(Date.parse("2024-02-09T13:20:20.000Z"), 0, 0, true)).toBe("2024-02-09 13:20:20+00");
    expect(pgText(Date.parse("2024-02-09T01:00:00.100Z"), 0, -180, true)).toBe("2024-02-08 22:00:00.1-03");
    expect(pgText(Date.parse("2024-02-09T13:20:20.120Z"), 0, 60, false)).toBe("2024-02-09 13:20:20.12");
  });
});

const MIN_MS = Date.UTC(2000, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);

const generatedEvent = fc
  .record({
    eventId: fc.uuid(),
    orderId: fc.uuid(),
    clientId: fc.integer({ min: 1, max: MAX_ID }),
    name: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: "grapheme", maxLength: 20 }), fc.constant('Zoë "\\ \u2028 😀')),
    email: fc.emailAddress(),
    ms: fc.integer({ min: MIN_MS, max: MAX_MS }),
    totalCents: fc.integer({ min: 0, max: 100_000_000_000_000 }),
    items: fc.array(
      fc.record({
        productId: fc.integer({ min: 1, max: MAX_ID }),
        quantity: fc.integer({ min: 1, max: 1000 }),
        unitPriceCents: fc.integer({ min: 0, max: 1_000_000_000 }).map(cents),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map((g) =>
    orderPlaced({
      eventId: g.eventId as Uuid,
      orderId: g.orderId,
      client: { id: g.clientId, name: g.name, email: g.email },
      occurredAt: new Date(g.ms),
      totalCents: cents(g.totalCents),
      items: g.items,
    }),
  );

/** How occurred_at reaches the record: a Date (rendered by the builder), ISO text, or PostgreSQL text. */
const occurredAtForm = fc.oneof(
  fc.constant({ kind: "date" as const }),
  fc.constant({ kind: "iso" as const }),
  fc.record({
    kind: fc.constant("pg" as const),
    extraMicros: fc.integer({ min: 0, max: 999 }),
    // Whole quarter hours from -12:00 to +14:00.
    offsetMinutes: fc.integer({ min: -48, max: 56 }).map((q) => q * 15),
    withOffset: fc.boolean(),
  }),
);

type OccurredAtForm = typeof occurredAtForm extends fc.Arbitrary<infer A> ? A : never;

const occurredAtValue = (event: OrderPlaced, form: OccurredAtForm): Date | string => {
  const ms = Date.parse(event.occurredAt);
  switch (form.kind) {
    case "date":
      return new Date(ms);
    case "iso":
      return event.occurredAt;
    case "pg":
      return pgText(ms, form.extraMicros, form.offsetMinutes, form.withOffset);
  }
};

describe("records rendered by dmsRecordForOutboxRow (the local tailer's format)", () => {
  it("round-trip to the same envelope, whatever form payload and occurred_at take", async () => {
    await fc.assert(
      fc.asyncProperty(
        generatedEvent,
        occurredAtForm,
        fc.constantFrom("insert" as const, "load" as const),
        fc.boolean(),
        async (event, form, operation, payloadAsObject) => {
          const rendered = dmsRecordForOutboxRow(rowOf(event, occurredAtValue(event, form)), operation, meta);
          // DMS writes jsonb as text; a mapping that parsed it already must work the same.
          const record = payloadAsObject ? { ...rendered, data: { ...rendered.data, payload: event.payload } } : rendered;
          const { quarantine, enrich } = enrichWithMemory();
          await expect(enrich([pipesRecord(record)])).resolves.toEqual([event]);
          expect(quarantine.records()).toEqual([]);
        },
      ),
    );
  });

  it("skips updates and deletes of outbox rows (the purge deletes every delivered row)", async () => {
    await fc.assert(
      fc.asyncProperty(generatedEvent, async (event) => {
        const { quarantine, enrich } = enrichWithMemory();
        const changes = [
          dmsRecordForOutboxRow(rowOf(event), "update", meta),
          dmsRecordForOutboxRow({ id: event.eventId }, "delete", meta),
        ];
        await expect(enrich(changes.map((change) => pipesRecord(change)))).resolves.toEqual([]);
        expect(quarantine.records()).toEqual([]);
      }),
    );
  });

  it("renders the metadata fields DMS renders for the same operation, and jsonb as text", () => {
    const insert = dmsRecordForOutboxRow(rowOf(EVENT_A), "insert", { ...meta, transactionRecordId: 1, streamPosition: "0/16B3748" });
    expect(Object.keys(insert.metadata).sort()).toEqual(Object.keys(dmsInsert.metadata).sort());
    expect(insert.metadata).toEqual(
      expect.objectContaining({
        "record-type": "data",
        operation: "insert",
        "partition-key-type": "attribute-name",
        "schema-name": "public",
        "table-name": "outbox",
        "transaction-id": 1139,
        "commit-timestamp": "2024-02-09T13:20:20.456000Z",
      }),
    );
    expect(typeof insert.data.payload).toBe("string");
    expect(JSON.parse(insert.data.payload as string)).toEqual(EVENT_A.payload);
    expect(insert.data.occurred_at).toBe("2024-02-09T13:20:20.123Z");

    // A full load is not a transaction: DMS's load records carry no transaction metadata.
    const load = dmsRecordForOutboxRow(rowOf(EVENT_A), "load", meta);
    expect(load.metadata).not.toHaveProperty("transaction-id");
    expect(load.metadata).not.toHaveProperty("commit-timestamp");
  });

  it("renders a delete as DMS does: every column present, all but the primary key null", () => {
    const rendered = dmsRecordForOutboxRow({ id: EVENT_A.eventId }, "delete", meta);
    expect(rendered.data).toEqual({
      id: EVENT_A.eventId,
      aggregate_type: null,
      aggregate_id: null,
      event_type: null,
      event_version: null,
      payload: null,
      occurred_at: null,
    });
    expect(rendered.metadata).toEqual(expect.objectContaining({ operation: "delete", "transaction-id": 1139 }));
    // The captured delete has the same shape: the key, and nulls.
    expect(Object.values(dmsDelete.data).filter((v) => v !== null)).toEqual([dmsDelete.data.id]);
  });
});

// ---- (e) a mixed batch ----

describe("a mixed batch", () => {
  it("returns exactly the good events in input order and quarantines exactly the bad records, in one put", async () => {
    const insertA = pipesRecord(dmsRecordForOutboxRow(rowOf(EVENT_A), "insert", meta));
    const loadB = pipesRecord(dmsRecordForOutboxRow(rowOf(EVENT_B), "load", meta));
    const insertC = pipesRecord(dmsRecordForOutboxRow(rowOf(EVENT_C, EVENT_C.occurredAt), "insert", meta));
    const deleteA = pipesRecord(dmsRecordForOutboxRow({ id: EVENT_A.eventId }, "delete", meta));
    const control = pipesRecord(controlCreate);
    const garbage = pipesRecord(undefined, "%%% not base64 %%%");
    const notDms = pipesRecord({ hello: "world" });
    const brokenPayload = pipesRecord(asOutboxRecord(dmsInsert, { ...outboxColumns(EVENT_A), payload: '{"orderId": ' }));
    const { event_type: _, ...withoutType } = outboxColumns(EVENT_B);
    const missingType = pipesRecord(asOutboxRecord(dmsInsert, withoutType));

    const { quarantine, enrich } = enrichWithMemory();
    const events = await enrich([loadB, garbage, insertA, deleteA, notDms, control, brokenPayload, insertC, missingType]);

    expect(events).toEqual([EVENT_B, EVENT_A, EVENT_C]);
    expect(quarantine.puts()).toHaveLength(1);
    expect(quarantine.records()).toEqual<QuarantinedRecord[]>([
      { raw: garbage, reason: expect.stringMatching(/^data: not valid base64/) },
      { raw: notDms, reason: expect.stringMatching(/^not a DMS record: metadata: missing$/) },
      { raw: brokenPayload, reason: expect.stringMatching(/^invalid outbox row: data\.payload: not valid JSON/) },
      { raw: missingType, reason: expect.stringMatching(/^invalid outbox row: data\.event_type: missing$/) },
    ]);
  });

  it("quarantines Kinesis records that are not records, and base64 that is not UTF-8", async () => {
    const { quarantine, enrich } = enrichWithMemory();
    const noData = { ...pipesInput[0], data: undefined };
    const latin1 = pipesRecord(undefined, Buffer.from([0x7b, 0xe9, 0x7d]).toString("base64"));
    await expect(enrich([null, 42, noData, latin1])).resolves.toEqual([]);
    expect(quarantine.records().map((r) => r.reason)).toEqual([
      "not a Kinesis record: expected PipesKinesisRecord, got null",
      "not a Kinesis record: expected PipesKinesisRecord, got 42",
      "not a Kinesis record: data: missing",
      "data: not UTF-8 text",
    ]);
  });

  it("quarantines an input that is not an array, whole, and returns no events", async () => {
    const { quarantine, enrich } = enrichWithMemory();
    const input = { Records: lambdaKinesisEvent.Records };
    await expect(enrich(input)).resolves.toEqual([]);
    expect(quarantine.puts()).toEqual([[{ raw: input, reason: "expected an array of Kinesis records, got object" }]]);
  });

  it("does not call the quarantine when every record is fine", async () => {
    const put = jest.fn<ReturnType<Quarantine["put"]>, Parameters<Quarantine["put"]>>(() => TE.right(undefined));
    const enrich = makeEnrichOutboxHandler({ quarantine: { put } });
    await expect(enrich([pipesRecord(dmsRecordForOutboxRow(rowOf(EVENT_A), "insert", meta))])).resolves.toEqual([EVENT_A]);
    expect(put).not.toHaveBeenCalled();
  });
});

// ---- (f) the quarantine fails ----

describe("when the quarantine fails", () => {
  const failing: Quarantine = { put: () => TE.left(unavailable("quarantine records")(new Error("queue unreachable"))) };

  it("rejects, so the pipe retries the batch instead of losing the bad record", async () => {
    const enrich = makeEnrichOutboxHandler({ quarantine: failing });
    const batch = [pipesRecord(dmsRecordForOutboxRow(rowOf(EVENT_A), "insert", meta)), pipesInput[0]];
    await expect(enrich(batch)).rejects.toThrow(/quarantine failed \(Unavailable\): 1 undecodable record/);
  });

  it("rejects for a non-array input too", async () => {
    await expect(makeEnrichOutboxHandler({ quarantine: failing })("nope")).rejects.toThrow(/quarantine failed/);
  });

  it("still succeeds when no record needs it", async () => {
    const enrich = makeEnrichOutboxHandler({ quarantine: failing });
    await expect(enrich([pipesRecord(controlDrop)])).resolves.toEqual([]);
  });
});

// ---- the Lambda entry point's configuration ----

type EnrichOutboxModule = typeof enrichOutboxModule;

describe("the module-scope handler", () => {
  const withEnv = async <A>(value: string | undefined, run: (handler: (records: unknown) => Promise<OutboxEnvelope[]>) => Promise<A>) => {
    const saved = process.env.QUARANTINE_QUEUE_URL;
    if (value === undefined) delete process.env.QUARANTINE_QUEUE_URL;
    else process.env.QUARANTINE_QUEUE_URL = value;
    try {
      let handler: ((records: unknown) => Promise<OutboxEnvelope[]>) | undefined;
      jest.isolateModules(() => {
        // A fresh module: the queue URL is read when the module loads (cold start).
        ({ handler } = jest.requireActual<EnrichOutboxModule>("../../handlers/enrich-outbox"));
      });
      if (handler === undefined) throw new Error("handler not loaded");
      return await run(handler);
    } finally {
      if (saved === undefined) delete process.env.QUARANTINE_QUEUE_URL;
      else process.env.QUARANTINE_QUEUE_URL = saved;
    }
  };

  it("fails loudly at the first invocation when QUARANTINE_QUEUE_URL is missing, even for a clean batch", async () => {
    await withEnv(undefined, (handler) => expect(handler([])).rejects.toThrow(/QUARANTINE_QUEUE_URL is not set/));
  });

  it("reads QUARANTINE_QUEUE_URL once, at cold start: setting it later does not help", async () => {
    await withEnv(undefined, async (handler) => {
      process.env.QUARANTINE_QUEUE_URL = "https://sqs.eu-central-1.amazonaws.com/111122223333/late";
      await expect(handler([])).rejects.toThrow(/QUARANTINE_QUEUE_URL is not set/);
    });
  });

  it("enriches when it is set (a clean batch never touches SQS)", async () => {
    await withEnv("https://sqs.eu-central-1.amazonaws.com/111122223333/quarantine", (handler) =>
      expect(handler([pipesRecord(dmsRecordForOutboxRow(rowOf(EVENT_A), "insert", meta))])).resolves.toEqual([EVENT_A]),
    );
  });
});

describe("the Kinesis record's base64", () => {
  const notBase64 = (record: unknown) => {
    const json = jsonFromKinesisRecord(record);
    return E.isLeft(json) && json.left.startsWith("data: not valid base64");
  };
  it("takes the canonical base64 of any bytes (padding and all), and gives those bytes back", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const data = Buffer.from(bytes).toString("base64");
        return !notBase64({ data });
      }),
    );
    expect(jsonFromKinesisRecord({ data: base64('{"a":"é"}') })).toEqual(E.right({ a: "é" }));
  });
  it("refuses any text that is not canonical base64: foreign characters, the URL-safe alphabet, no or bad padding", () => {
    const canonical = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."AQZaqz09+/=-_ %\n"), maxLength: 24 }), (data) => !canonical.test(data) ? notBase64({ data }) : true),
    );
    for (const data of ["QQ", "QQ=", "Q===", "-_8=", "QQ==\n", " QQ==", "QR=="]) expect(notBase64({ data })).toBe(true);
  });
});
