import { isLeft, isRight } from "fp-ts/Either";
import { isSome } from "fp-ts/Option";
import { dmsRecordForOutboxRow } from "../../adapters/cdc/dms-record-render";
import { outboxEventFromDmsRecord } from "../../adapters/cdc/dms-record";
import { decodeWalOutboxRow } from "../../local/wal-row";

/** An outbox row as pg-logical-replication hands it over, each column through pg's type parsers. */
const walRow = {
  id: "0b9f7c2e-6a51-4f0e-9a0e-3c1d2b4a5e6f",
  aggregate_type: "Client",
  aggregate_id: "3",
  event_type: "OrderPlaced",
  event_version: 1,
  payload: { orderId: "0b9f7c2e-6a51-4f0e-9a0e-3c1d2b4a5e70", clientId: 3, totalCents: 100_000, placedAt: "2024-02-09T13:20:20.000Z" },
  occurred_at: new Date("2024-02-09T13:20:20.000Z"),
};
const meta = { transactionId: 7, commitTimestamp: new Date("2024-02-09T13:20:20.000Z") };

describe("local log tailer: outbox rows from the WAL", () => {
  it("decodes an inserted row into the image that renders as the DMS record the enrichment accepts", () => {
    const row = decodeWalOutboxRow(walRow);
    if (isLeft(row)) throw new Error(row.left);
    expect(row.right).toEqual(walRow);
    const event = outboxEventFromDmsRecord(dmsRecordForOutboxRow(row.right, "insert", meta));
    expect(isRight(event) && isSome(event.right) && event.right.value.eventId).toBe(walRow.id);
  });

  it.each([
    ["a missing column", { ...walRow, aggregate_id: undefined }, "aggregate_id"],
    ["a retyped column", { ...walRow, event_version: "1" }, "event_version"],
    ["a fractional version", { ...walRow, event_version: 1.5 }, "event_version"],
    ["an invalid date", { ...walRow, occurred_at: new Date(Number.NaN) }, "occurred_at"],
    ["no tuple at all", null, "WalOutboxRow"],
  ])("refuses %s, naming it", (_, raw, named) => {
    const row = decodeWalOutboxRow(raw);
    expect(isLeft(row) && row.left).toEqual(expect.stringContaining(named));
  });
});
