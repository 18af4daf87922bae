// The local runtime runs up to QUEUE_CONCURRENCY batches of one consumer at a time (and the
// purge queue 16), as SQS scales its Lambda pollers. On AWS each batch has an execution
// environment of its own; here they share one handler in one process, so nothing a batch
// keeps while it runs may be shared with the batches beside it: a failure of one must be
// reported by that one, whatever the others do meanwhile.
import * as TE from "fp-ts/TaskEither";
import { unavailable } from "../../domain/errors";
import type { OrderPlaced } from "../../domain/outbox-event";
import type { ApplyOutcome, ClientViewStore, OutboxJanitor } from "../../domain/ports";
import { makeProjectClientViewHandler } from "../../handlers/project-client-view";
import { makePurgeOutboxHandler } from "../../handlers/purge-outbox";
import { logLines } from "../support/log-lines";
import { lambdaContext, orderPlacedNumber, sqsEvent, sqsRecord } from "../support/sqs";

const recordOf = (event: OrderPlaced) => sqsRecord(JSON.stringify(event));

/** A promise and the hand that settles it: the test decides when each record's work ends. */
const gate = () => {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

/** Lets every promise reaction queued so far run. */
const settleMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

const failure = () => unavailable("apply event")(new Error("READONLY You can't write against a read only replica."));

describe("two batches of one consumer in flight at once", () => {
  it("each projection batch reports its own failed message, though another batch started and ended meanwhile", async () => {
    const failing = orderPlacedNumber(1);
    const slow = orderPlacedNumber(2);
    const other = orderPlacedNumber(3);
    const slowDone = gate();
    const views: ClientViewStore = {
      apply: (event) => {
        if (event.eventId === failing.eventId) return TE.left(failure());
        if (event.eventId === slow.eventId) return () => slowDone.opened.then(() => ({ _tag: "Right", right: "applied" as ApplyOutcome }));
        return TE.right("applied");
      },
      get: () => TE.left(failure()),
    };
    const project = makeProjectClientViewHandler(async () => ({ views }));
    const failingRecord = recordOf(failing);

    await logLines(async () => {
      // Batch A: one message fails at once, the other is still being applied ...
      const first = project(sqsEvent([failingRecord, recordOf(slow)]), lambdaContext());
      await settleMicrotasks();
      // ... while batch B runs whole and succeeds ...
      const second = await project(sqsEvent([recordOf(other)]), lambdaContext());
      expect(second.batchItemFailures).toEqual([]);
      // ... and then A ends: its failure is its own, and must come back with it.
      slowDone.open();
      expect((await first).batchItemFailures).toEqual([{ itemIdentifier: failingRecord.messageId }]);
    });
  });

  it("each purge batch reports exactly its own failed messages, though the batches overlap", async () => {
    const failing = orderPlacedNumber(11);
    const other = orderPlacedNumber(12);
    const firstDone = gate();
    const secondDone = gate();
    const janitor: OutboxJanitor = {
      purge: (ids) =>
        ids.includes(failing.eventId)
          ? () => firstDone.opened.then(() => ({ _tag: "Left", left: failure() }))
          : () => secondDone.opened.then(() => ({ _tag: "Right", right: ids.length })),
    };
    const purge = makePurgeOutboxHandler(async () => ({ janitor }));
    const failingRecord = recordOf(failing);

    await logLines(async () => {
      // A starts, then B; A's DELETE fails while B's is still out; then B's succeeds.
      const first = purge(sqsEvent([failingRecord]), lambdaContext());
      await settleMicrotasks();
      const second = purge(sqsEvent([recordOf(other)]), lambdaContext());
      await settleMicrotasks();
      firstDone.open();
      expect((await first).batchItemFailures).toEqual([{ itemIdentifier: failingRecord.messageId }]);
      secondDone.open();
      expect((await second).batchItemFailures).toEqual([]);
    });
  });
});
