import type { SQSEvent } from "aws-lambda";
import { type DeadLetter, LocalQueue, type LocalBatchResponse } from "../../local/queue";
import { LocalTopic } from "../../local/topic";
import { Ticket } from "../../local/acknowledgement";

const waitFor = async (check: () => boolean, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

/** Fails the bodies `fail` picks; says why for each. */
const consumerFailing =
  (fail: (body: string, receive: number) => boolean) =>
  async (event: SQSEvent): Promise<LocalBatchResponse> => {
    const failed = event.Records.filter((r) => fail(r.body, Number(r.attributes.ApproximateReceiveCount)));
    return {
      batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })),
      reasons: new Map(failed.map((r) => [r.messageId, `${r.body} is poison`])),
    };
  };

describe("the local SQS queue", () => {
  it("works a backlog off with up to `concurrency` full batches in flight, and pauses and stops with all of them", async () => {
    const queue = new LocalQueue({ name: "q", retryDelayMs: 1, maxReceiveCount: 3, batchSize: 10, concurrency: 3 });
    let inFlight = 0;
    let most = 0;
    const sizes: number[] = [];
    const releases: Array<() => void> = [];
    queue.consume(async (event) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      sizes.push(event.Records.length);
      await new Promise<void>((resolve) => releases.push(resolve));
      inFlight -= 1;
    });
    let settled = 0;
    for (let i = 0; i < 45; i++) queue.send(String(i), {}, { settle: () => void (settled += 1) });
    await waitFor(() => releases.length === 3);
    expect(queue.inFlight()).toBe(30);
    const paused = queue.pause();
    for (const release of releases.splice(0)) release();
    await paused;
    expect(settled).toBe(30);
    expect(releases).toHaveLength(0);
    // 15 left: a full batch goes, the 5 behind it wait for a loop to come free.
    queue.resume();
    await waitFor(() => releases.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(queue.inFlight()).toBe(10);
    for (const release of releases.splice(0)) release();
    await waitFor(() => releases.length === 1);
    for (const release of releases.splice(0)) release();
    await waitFor(() => queue.depth() === 0);
    expect(settled).toBe(45);
    expect(most).toBe(3);
    expect(sizes.sort((a, b) => a - b)).toEqual([5, 10, 10, 10, 10]);

    // A trickle is not cut up: one loop, which takes whatever is there.
    sizes.length = 0;
    queue.send("late");
    await waitFor(() => releases.length === 1);
    releases.splice(0).forEach((release) => release());
    await waitFor(() => queue.depth() === 0);
    expect(sizes).toEqual([1]);
    await queue.stop();
  });

  it("settles what succeeds, retries what fails, and keeps a message that keeps failing as a dead letter with its reason", async () => {
    const letters: DeadLetter[] = [];
    const queue = new LocalQueue({ name: "q", retryDelayMs: 1, maxReceiveCount: 3, deadLetters: async (l) => void letters.push(l) });
    const deliveries: Record<string, number> = {};
    const settled: string[] = [];
    queue.consume(
      consumerFailing((body, receive) => {
        deliveries[body] = (deliveries[body] ?? 0) + 1;
        expect(receive).toBe(deliveries[body]);
        return body === "poison" || (body === "flaky" && receive === 1);
      }),
    );
    for (const body of ["ok", "flaky", "poison"]) queue.send(body, {}, { settle: () => settled.push(body) });

    await waitFor(() => queue.depth() === 0);
    expect(deliveries).toEqual({ ok: 1, flaky: 2, poison: 3 });
    expect(settled.sort()).toEqual(["flaky", "ok", "poison"]);
    expect(letters).toEqual([expect.objectContaining({ queue: "q", body: "poison", receiveCount: 3, lastError: "poison is poison" })]);
    await queue.stop();
  });

  it("does not count tries while the consumer's dependencies are down, so an outage dead-letters nothing", async () => {
    const letters: DeadLetter[] = [];
    let up = false;
    let calls = 0;
    const queue = new LocalQueue({
      name: "q",
      retryDelayMs: 1,
      maxRetryDelayMs: 5,
      maxReceiveCount: 2,
      deadLetters: async (l) => void letters.push(l),
      dependenciesUp: async () => up,
    });
    let settled = 0;
    queue.consume(async (event) => {
      calls += 1;
      // 19 failures during the outage, then one of the message's own once it is over.
      if (calls === 20) up = true;
      return { batchItemFailures: calls <= 20 ? event.Records.map((r) => ({ itemIdentifier: r.messageId })) : [] };
    });
    queue.send("m", {}, { settle: () => (settled += 1) });
    await waitFor(() => settled === 1);
    expect(calls).toBe(21);
    expect(letters).toEqual([]);
    await queue.stop();
  });

  it("backs off exponentially between tries", async () => {
    const times: number[] = [];
    const queue = new LocalQueue({ name: "q", retryDelayMs: 20, maxReceiveCount: 5, deadLetters: async () => undefined });
    queue.consume(async (event) => {
      times.push(Date.now());
      return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
    });
    queue.send("m");
    await waitFor(() => times.length === 5);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    // 20, 40, 80, 160 ms, each with +-20 % jitter: every gap is at least 0.8x its step.
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(Math.floor(0.8 * 20 * 2 ** i)));
    await queue.stop();
  });

  it("settles an exhausted message only once the dead-letter store kept it, trying the store again meanwhile", async () => {
    let storeUp = false;
    const kept: string[] = [];
    let settled = false;
    const queue = new LocalQueue({
      name: "q",
      retryDelayMs: 1,
      maxRetryDelayMs: 5,
      maxReceiveCount: 1,
      deadLetters: async (l) => {
        if (!storeUp) throw new Error("store down");
        kept.push(l.body);
      },
    });
    queue.consume(consumerFailing(() => true));
    queue.send("poison", {}, { settle: () => (settled = true) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    expect(queue.depth()).toBe(1);
    storeUp = true;
    await waitFor(() => settled);
    expect(kept).toEqual(["poison"]);
    await queue.stop();
  });

  it("fails a batch whose consumer does not answer within the visibility timeout, and delivers it again", async () => {
    let calls = 0;
    let settled = 0;
    const queue = new LocalQueue({ name: "q", retryDelayMs: 1, maxReceiveCount: 5, visibilityTimeoutMs: 50, deadLetters: async () => undefined });
    queue.consume(async () => {
      calls += 1;
      if (calls === 1) await new Promise(() => undefined); // hangs forever
    });
    queue.send("m", {}, { settle: () => (settled += 1) });
    await waitFor(() => settled === 1);
    expect(calls).toBe(2);
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

  it("holds 150 000 queued messages, with retries waiting, and delivers them all", async () => {
    const queue = new LocalQueue({ name: "q", retryDelayMs: 1, maxReceiveCount: 5, batchSize: 100 });
    let settled = 0;
    let delivered = 0;
    for (let i = 0; i < 150_000; i++) queue.send(String(i), {}, { settle: () => (settled += 1) });
    expect(queue.depth()).toBe(150_000);
    // Every tenth message fails once, so the delayed set is large too.
    queue.consume(consumerFailing((body, receive) => (delivered++, receive === 1 && Number(body) % 10 === 0)));
    await waitFor(() => settled === 150_000, 50_000);
    expect(delivered).toBe(165_000);
    expect(queue.depth()).toBe(0);
    await queue.stop();
  }, 60_000);

  it("leaves no visibility timer behind once a batch is answered, so a handled batch is not kept alive for the timeout", async () => {
    // Timers faked (to count them), promises and immediates real (the queue's flow runs on them).
    jest.useFakeTimers({ doNotFake: ["nextTick", "queueMicrotask", "setImmediate"] });
    try {
      const queue = new LocalQueue({ name: "q", retryDelayMs: 1, maxReceiveCount: 3, visibilityTimeoutMs: 30_000 });
      queue.consume(async () => ({ batchItemFailures: [] }));
      let settled = 0;
      for (let i = 0; i < 25; i++) queue.send(String(i), {}, { settle: () => void (settled += 1) });
      for (let turn = 0; turn < 100 && settled < 25; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(25);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it("settles nothing it did not handle when stopped: the replication slot replays the rest", async () => {
    let settled = 0;
    const queue = new LocalQueue({ name: "q", retryDelayMs: 1_000, maxReceiveCount: 5 });
    queue.consume(consumerFailing(() => true));
    for (let i = 0; i < 3; i++) queue.send(String(i), {}, { settle: () => (settled += 1) });
    await waitFor(() => queue.inFlight() === 0 && queue.depth() === 3);
    await queue.stop();
    expect(settled).toBe(0);
  });
});

describe("the local SNS topic", () => {
  it("fans a message out to every subscription, raw or in the SNS envelope, each copy holding the ticket", async () => {
    const bodies: Record<string, string[]> = { raw: [], wrapped: [] };
    const topic = new LocalTopic("t");
    for (const [name, raw] of [["raw", true], ["wrapped", false]] as const) {
      const queue = new LocalQueue({ name, retryDelayMs: 1, maxReceiveCount: 1 });
      topic.subscribe(queue, { raw });
      queue.consume(async (event) => void bodies[name]?.push(...event.Records.map((r) => r.body)));
    }
    let done = false;
    const ticket = new Ticket(() => (done = true));
    topic.publish('{"a":1}', { eventType: "OrderPlaced" }, ticket);
    ticket.close();
    await waitFor(() => done);
    expect(bodies.raw).toEqual(['{"a":1}']);
    const envelope = JSON.parse(bodies.wrapped?.[0] ?? "{}") as Record<string, unknown>;
    expect(envelope).toEqual(expect.objectContaining({ Type: "Notification", Message: '{"a":1}' }));
  });
});
