import fc from "fast-check";
import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import { outboxEventFromDmsRecord, parseTimestamptz } from "../../adapters/cdc/dms-record";
import { dmsRecordForOutboxRow } from "../../adapters/cdc/dms-record-render";
import { createMemoryQuarantine } from "../../adapters/quarantine/memory-quarantine";
import { IsoInstant } from "../../domain/outbox-event";

describe("parseTimestamptz: an outbox occurred_at as an ISO instant at millisecond precision", () => {
  it.each([
    ["ISO with Z", "2024-02-09T13:20:20.123Z", "2024-02-09T13:20:20.123Z"],
    ["ISO with an offset", "2024-02-09T18:50:20.123+05:30", "2024-02-09T13:20:20.123Z"],
    ["ISO without fraction", "2024-02-09T13:20:20Z", "2024-02-09T13:20:20.000Z"],
    ["DMS's microseconds", "2024-07-29T00:58:17.974340Z", "2024-07-29T00:58:17.974Z"],
    ["PostgreSQL text, +00", "2024-02-09 13:20:20.123456+00", "2024-02-09T13:20:20.123Z"],
    ["PostgreSQL text, no offset (UTC)", "2024-02-09 13:20:20.123456", "2024-02-09T13:20:20.123Z"],
    ["PostgreSQL text, +05:30", "2024-02-09 18:50:20.5+05:30", "2024-02-09T13:20:20.500Z"],
    ["PostgreSQL text, -03, no fraction", "2024-02-09 10:20:20-03", "2024-02-09T13:20:20.000Z"],
    ["PostgreSQL text, a historic offset with seconds", "1900-01-01 00:00:00+05:53:28", "1899-12-31T18:06:32.000Z"],
    ["sub-milliseconds are truncated, never rounded up", "2024-12-31 23:59:59.999999+00", "2024-12-31T23:59:59.999Z"],
    ["an offset crossing a day, month and year", "2025-01-01 01:00:00+02", "2024-12-31T23:00:00.000Z"],
    ["a leap day", "2024-02-29 00:00:00+00", "2024-02-29T00:00:00.000Z"],
    ["a year below 100 (Date.UTC would make it 19xx)", "0099-03-01 00:00:00+00", "0099-03-01T00:00:00.000Z"],
  ])("reads %s", (_case, text, iso) => {
    expect(parseTimestamptz(text)).toEqual(E.right(iso));
  });

  it.each([
    ["a date alone", "2024-02-09", /expected an ISO-8601 or PostgreSQL timestamp/],
    ["infinity", "infinity", /expected an ISO-8601 or PostgreSQL timestamp/],
    ["a BC date", "0044-03-15 12:00:00+00 BC", /expected an ISO-8601 or PostgreSQL timestamp/],
    ["February 30th", "2024-02-30 00:00:00+00", /not a valid calendar date/],
    ["a non-leap February 29th", "2023-02-29 00:00:00+00", /not a valid calendar date/],
    ["month 13", "2024-13-01 00:00:00+00", /not a valid calendar date/],
    ["hour 24", "2024-02-09 24:00:00+00", /not a valid time of day or offset/],
    ["minute 60", "2024-02-09 23:60:00+00", /not a valid time of day or offset/],
    ["an offset of 16 hours", "2024-02-09 12:00:00+16", /not a valid time of day or offset/],
    ["an instant before year 0", "0000-01-01 00:30:00+01", /instant out of range/],
    ["an empty string", "", /expected an ISO-8601 or PostgreSQL timestamp/],
  ])("refuses %s", (_case, text, reason) => {
    const result = parseTimestamptz(text);
    expect(E.isLeft(result) && result.left).toMatch(reason);
  });

  it("finds a date real exactly when the domain's IsoInstant does: one calendar check", () => {
    const pad = (n: number, width: number) => String(n).padStart(width, "0");
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, mo, d) => {
        const date = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}`;
        expect(E.isRight(parseTimestamptz(`${date} 12:00:00+00`))).toBe(IsoInstant.is(`${date}T12:00:00Z`));
      }),
    );
  });

  it("agrees with Date.parse on every ISO instant with a Z, whatever its fraction", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31) }),
        fc.integer({ min: 0, max: 999_999 }),
        (ms, nanosBelowMs) => {
          const iso = new Date(ms).toISOString().replace("Z", `${String(nanosBelowMs).padStart(6, "0")}Z`);
          expect(parseTimestamptz(iso)).toEqual(E.right(new Date(ms).toISOString()));
        },
      ),
    );
  });
});

describe("an outbox record's occurred_at, on its way into the envelope", () => {
  /** The envelope's occurredAt for a DMS insert whose occurred_at column is this text, or the refusal. */
  const occurredAtOf = (text: string): E.Either<string, string> => {
    const record = dmsRecordForOutboxRow(
      {
        id: "0b6d5c3e-8f5a-4c1b-9a7e-2f3d4c5b6a79",
        aggregate_type: "client",
        aggregate_id: "1",
        event_type: "OrderPlaced",
        event_version: 1,
        payload: { orderId: "o-1" },
        occurred_at: text,
      },
      "insert",
      { transactionId: 1, commitTimestamp: new Date(0) },
    );
    const result = outboxEventFromDmsRecord(JSON.parse(JSON.stringify(record)));
    return E.isLeft(result) ? result : O.isSome(result.right) ? E.right(result.right.value.occurredAt) : E.left("skipped");
  };

  it.each([
    "2024-02-09T13:20:20.123Z",
    "2024-02-09T18:50:20.123+05:30",
    "2024-02-09T13:20:20Z",
    "2024-02-09T13:20:20.1234Z",
    "2024-02-09 13:20:20.123+00",
    "2024-02-30T13:20:20.123Z",
    "0000-01-01T00:00:00.000Z",
  ])("is what parseTimestamptz reads in %s", (text) => {
    const parsed = parseTimestamptz(text);
    const got = occurredAtOf(text);
    if (E.isRight(parsed)) expect(got).toEqual(parsed);
    else expect(E.isLeft(got) && got.left).toContain(parsed.left);
  });

  it("is what parseTimestamptz reads, for any instant in any offset and precision", () => {
    const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, "0");
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 24 }),
        fc.constantFrom("", ".1", ".123", ".123456", "."),
        fc.constantFrom("Z", "+00", "+05:30", "-08:00", "", "z"),
        fc.constantFrom("T", " "),
        (year, month, day, hour, fraction, offset, separator) => {
          const text = `${pad(year, 4)}-${pad(month)}-${pad(day)}${separator}${pad(hour)}:20:20${fraction}${offset}`;
          const parsed = parseTimestamptz(text);
          const got = occurredAtOf(text);
          if (E.isRight(parsed)) expect(got).toEqual(parsed);
          else expect(E.isLeft(got) && got.left).toContain(parsed.left);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("the memory quarantine", () => {
  it("records each put as one batch, in order", async () => {
    const quarantine = createMemoryQuarantine();
    const batch = [
      { raw: { a: 1 }, reason: "one" },
      { raw: "b", reason: "two" },
    ];
    expect(await quarantine.put(batch)()).toEqual(E.right(undefined));
    expect(await quarantine.put([{ raw: null, reason: "three" }])()).toEqual(E.right(undefined));
    batch.pop(); // the caller's array is not the quarantine's history
    expect(quarantine.puts()).toEqual([
      [
        { raw: { a: 1 }, reason: "one" },
        { raw: "b", reason: "two" },
      ],
      [{ raw: null, reason: "three" }],
    ]);
    expect(quarantine.records().map((r) => r.reason)).toEqual(["one", "two", "three"]);
  });
});
