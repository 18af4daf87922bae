import type { SQSEvent } from "aws-lambda";
import { LocalQueue } from "../../local/queue";
import { LocalTopic } from "../../local/topic";

const waitFor = async (check: () => boolean, ms = 5_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("the local SQS queue", () => {
  it("deletes what succeeds, retries what fails, and redrives to the DLQ after maxReceiveCount", async () => {
    const dlq = new LocalQueue({ name: "dlq", retryDelayMs: 1, maxReceiveCount: Number.POSITIVE_INFINITY });
    const queue = new LocalQueue({ name: "q", retryDelayMs: 1, maxReceiveCount: 3, deadLetter: dlq });
    const deliveries: Record<string, number> = {};
    queue.consume(async (event: SQSEvent) => ({
      batchItemFailures: event.Records.flatMap((record) => {
        deliveries[record.body] = (deliveries[record.body] ?? 0) + 1;
        expect(record.attributes.ApproximateReceiveCount).toBe(String(deliveries[record.body]));
        // "flaky" fails once, "poison" always.
        const fail = record.body === "poison" || (record.body === "flaky" && deliveries[record.body] === 1);
        return fail ? [{ itemIdentifier: record.messageId }] : [];
      }),
    }));
    for (const body of ["ok", "flaky", "poison"]) queue.send(body);

    await waitFor(() => queue.depth() === 0);
    expect(deliveries).toEqual({ ok: 1, flaky: 2, poison: 3 });
    expect(dlq.bodies()).toEqual(["poison"]);
    await queue.stop();
  });

  it("fails the whole batch when the consumer throws, and delivers at most 10 a batch", async () => {
    const queue = new LocalQueue({ name: "q", retryDelayMs: 1, maxReceiveCount: 5 });
    const sizes: number[] = [];
    let calls = 0;
    queue.consume(async (event) => {
      sizes.push(event.Records.length);
      calls += 1;
      if (calls === 1) throw new Error("consumer crashed");
    });
    for (let i = 0; i < 25; i++) queue.send(String(i));
    await waitFor(() => queue.depth() === 0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(25 + (sizes[0] ?? 0));
    await queue.stop();
  });
});

describe("the local SNS topic", () => {
  it("fans a message out to every subscription, raw or in the SNS envelope", () => {
    const raw = new LocalQueue({ name: "raw", retryDelayMs: 1, maxReceiveCount: 1 });
    const wrapped = new LocalQueue({ name: "wrapped", retryDelayMs: 1, maxReceiveCount: 1 });
    const topic = new LocalTopic("t");
    topic.subscribe(raw, { raw: true });
    topic.subscribe(wrapped, { raw: false });
    topic.publish('{"a":1}', { eventType: "OrderPlaced" });
    expect(raw.bodies()).toEqual(['{"a":1}']);
    const envelope = JSON.parse(wrapped.bodies()[0] ?? "{}") as Record<string, unknown>;
    expect(envelope).toEqual(expect.objectContaining({ Type: "Notification", Message: '{"a":1}' }));
  });
});
