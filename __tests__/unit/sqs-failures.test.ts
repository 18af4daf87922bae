import * as O from "fp-ts/Option";
import * as TE from "fp-ts/TaskEither";
import { unavailable } from "../../domain/errors";
import type { ClientViewStore, OutboxJanitor } from "../../domain/ports";
import { makeProjectClientViewHandler } from "../../handlers/project-client-view";
import { makePurgeOutboxHandler } from "../../handlers/purge-outbox";
import { errorResponse } from "../../handlers/support/http";
import { failureReasonsOf } from "../../handlers/support/sqs-message";
import { logLines } from "../support/log-lines";
import { lambdaContext, orderPlacedNumber, sqsEvent, sqsRecord } from "../support/sqs";

const logLinesDebug = (run: () => Promise<unknown>) => logLines(run, "DEBUG");

/** The driver's error a port wraps as `Unavailable`: what the logs must still show. */
const driverError = () => Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:5432"), { code: "ECONNREFUSED" });

const failedLines = (lines: ReadonlyArray<Record<string, unknown>>) => lines.filter((line) => line.message === "message failed");

describe("a purge that fails", () => {
  const janitor = (failFor: ReadonlySet<string>): OutboxJanitor => ({
    purge: (ids) => (ids.some((id) => failFor.has(id)) ? TE.left(unavailable("purge outbox")(driverError())) : TE.right(1)),
  });

  it("keeps the driver's error as the cause, in the log and in the reason", async () => {
    const bad = orderPlacedNumber(1);
    const record = sqsRecord(JSON.stringify(bad));
    const purge = makePurgeOutboxHandler(async () => ({ janitor: janitor(new Set([bad.eventId])) }));
    let reason: string | undefined;
    const lines = await logLinesDebug(async () => {
      const response = await purge(sqsEvent([record]), lambdaContext());
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      reason = failureReasonsOf(response).get(record.messageId);
    });
    expect(reason).toMatch(/^Unavailable: could not purge .*: caused by: connect ECONNREFUSED 10\.0\.0\.5:5432$/);
    expect(failedLines(lines)).toEqual([
      expect.objectContaining({
        level: "ERROR",
        messageId: record.messageId,
        code: "Unavailable",
        error: expect.objectContaining({
          name: "CodedFailure",
          cause: expect.objectContaining({ message: "connect ECONNREFUSED 10.0.0.5:5432", code: "ECONNREFUSED" }),
        }),
      }),
    ]);
  });

  it("is logged exactly once per failed record, each with its message id: the batch's statement failed for every decoded one", async () => {
    const [a, b, c] = [orderPlacedNumber(2), orderPlacedNumber(3), orderPlacedNumber(4)];
    const records = [sqsRecord(JSON.stringify(a)), sqsRecord(JSON.stringify(b)), sqsRecord("not json"), sqsRecord(JSON.stringify(c))];
    const purge = makePurgeOutboxHandler(async () => ({ janitor: janitor(new Set([a.eventId, c.eventId])) }));
    const lines = await logLinesDebug(() => purge(sqsEvent(records), lambdaContext()));
    const failedIds = records.map((record) => record.messageId);
    // The processor runs the records concurrently: the lines come in any order.
    expect(failedLines(lines).map((line) => line.messageId).sort()).toEqual(failedIds.sort());
    expect(lines.filter((line) => line.level === "ERROR" || line.level === "WARN")).toHaveLength(4);
  });
});

describe("a purge batch", () => {
  const recording = () => {
    const calls: Array<ReadonlyArray<string>> = [];
    const janitor: OutboxJanitor = { purge: (ids) => (calls.push(ids), TE.right(ids.length)) };
    return { calls, janitor };
  };

  it("deletes every decoded message's row in one statement, and a malformed message fails only itself", async () => {
    const [a, b] = [orderPlacedNumber(6), orderPlacedNumber(7)];
    const records = [sqsRecord(JSON.stringify(a)), sqsRecord("{}"), sqsRecord(JSON.stringify(b)), sqsRecord("not json")];
    const { calls, janitor } = recording();
    const response = await makePurgeOutboxHandler(async () => ({ janitor }))(sqsEvent(records), lambdaContext());
    expect(calls).toEqual([[a.eventId, b.eventId]]);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([records[1]!.messageId, records[3]!.messageId].sort());
    expect(failureReasonsOf(response).get(records[1]!.messageId)).toMatch(/^not an OutboxEvent: /);
  });

  it("counts a row already gone as a success", async () => {
    const records = [sqsRecord(JSON.stringify(orderPlacedNumber(8))), sqsRecord(JSON.stringify(orderPlacedNumber(9)))];
    const janitor: OutboxJanitor = { purge: () => TE.right(0) };
    const response = await makePurgeOutboxHandler(async () => ({ janitor }))(sqsEvent(records), lambdaContext());
    expect(response.batchItemFailures).toEqual([]);
  });

  it("with only malformed messages runs no statement", async () => {
    const { calls, janitor } = recording();
    const response = await makePurgeOutboxHandler(async () => ({ janitor }))(sqsEvent([sqsRecord("[]")]), lambdaContext());
    expect(response.batchItemFailures).toHaveLength(1);
    expect(calls).toEqual([]);
  });
});

describe("a projection that fails", () => {
  it("keeps the store's error as the cause instead of a string of it", async () => {
    const event = orderPlacedNumber(5);
    const record = sqsRecord(JSON.stringify(event));
    const views: ClientViewStore = {
      apply: () => TE.left(unavailable("apply event")(driverError())),
      get: () => TE.left(unavailable("get")(null)),
    };
    const project = makeProjectClientViewHandler(async () => ({ views }));
    let reason: string | undefined;
    const lines = await logLinesDebug(async () => {
      reason = failureReasonsOf(await project(sqsEvent([record]), lambdaContext())).get(record.messageId);
    });
    expect(reason).toBe(`Unavailable: could not apply ${event.eventId} (apply event): caused by: connect ECONNREFUSED 10.0.0.5:5432`);
    expect(failedLines(lines)).toEqual([
      expect.objectContaining({
        messageId: record.messageId,
        code: "Unavailable",
        error: expect.objectContaining({ cause: expect.objectContaining({ message: "connect ECONNREFUSED 10.0.0.5:5432" }) }),
      }),
    ]);
  });
});

describe("a projection's decoding (the event decoded once on the common path)", () => {
  const views: ClientViewStore = { apply: () => TE.right("applied"), get: () => TE.right(O.none) };
  const project = makeProjectClientViewHandler(async () => ({ views }));

  it("words a broken known event, a non-envelope and an unknown type as the envelope-first decoding does", async () => {
    const valid = orderPlacedNumber(10);
    const broken = sqsRecord(JSON.stringify({ ...valid, payload: { ...valid.payload, totalCents: "1" } }));
    const notEnvelope = sqsRecord(JSON.stringify({ ...valid, eventId: "not-a-uuid" }));
    const notObject = sqsRecord("42");
    const unknown = sqsRecord(JSON.stringify({ ...valid, eventType: "ClientRenamed", payload: {} }));
    const good = sqsRecord(JSON.stringify(valid));
    let response: Awaited<ReturnType<typeof project>> | undefined;
    const lines = await logLinesDebug(async () => {
      response = await project(sqsEvent([broken, notEnvelope, notObject, unknown, good]), lambdaContext());
    });
    const reasons = failureReasonsOf(response!);
    expect([...reasons.keys()].sort()).toEqual([broken.messageId, notEnvelope.messageId, notObject.messageId].sort());
    expect(reasons.get(broken.messageId)).toMatch(new RegExp(`^invalid OrderPlaced v1 event ${valid.eventId}: .*payload`));
    expect(reasons.get(notEnvelope.messageId)).toMatch(/^not an OutboxEvent: .*eventId/);
    expect(reasons.get(notObject.messageId)).toMatch(/^not an OutboxEvent: /);
    expect(lines.filter((line) => line.message === "event type not projected; acknowledged")).toEqual([
      expect.objectContaining({ eventType: "ClientRenamed", eventVersion: 1, messageId: unknown.messageId }),
    ]);
  });
});

describe("an HTTP request that fails", () => {
  it("logs the cause as it is, an Error or not", async () => {
    const [fromError] = await logLinesDebug(async () => errorResponse(unavailable("place order")(new Error("injected")), "req-1"));
    expect(fromError).toEqual(expect.objectContaining({ message: "request failed", error: expect.objectContaining({ message: "injected" }) }));

    const [fromValue] = await logLinesDebug(async () => errorResponse(unavailable("place order")({ reason: "not an Error" }), "req-2"));
    expect(fromValue).toEqual(
      expect.objectContaining({ error: expect.objectContaining({ message: "place order failed", cause: { reason: "not an Error" } }) }),
    );
  });
});
