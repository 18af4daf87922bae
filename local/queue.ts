import { createHash, randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { QUEUE_BATCH_SIZE } from "../domain/contracts";
import { TIMED_OUT, within } from "./deadline";

/** A message that ran out of tries, as the dead-letter store keeps it. */
export interface DeadLetter {
  readonly queue: string;
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly receiveCount: number;
  readonly lastError: string;
  readonly firstReceivedAt: Date;
  /** Set when the message came from the store (a redrive): the store updates that entry. */
  readonly deadLetterId?: string;
}

/** Where exhausted messages go. It must be durable: a message counts as handled once it resolves. */
export type DeadLetterSink = (letter: DeadLetter) => Promise<void>;

export interface QueueOptions {
  readonly name: string;
  /** First retry delay; each further failure doubles it, up to `maxRetryDelayMs`. */
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs?: number;
  /** Failed deliveries before a message goes to the dead letters (SQS redrive `maxReceiveCount`). */
  readonly maxReceiveCount: number;
  readonly batchSize?: number;
  /**
   * Batches in flight at once (a Lambda consumer's concurrency; SQS scales its pollers up
   * when messages wait). Default 1. A further batch starts only when a full one waits, so a
   * trickle is still delivered at once, and a backlog in full batches.
   */
  readonly concurrency?: number;
  /** A batch whose consumer has not answered by then counts as failed (SQS visibility timeout). */
  readonly visibilityTimeoutMs?: number;
  readonly deadLetters?: DeadLetterSink;
  /**
   * Asked after a batch with failures: are the consumer's dependencies up? When they are
   * not, the failures were theirs, not the messages', and the tries do not count, so an
   * outage of any length dead-letters nothing.
   */
  readonly dependenciesUp?: () => Promise<boolean>;
  readonly log?: (message: string) => void;
}

interface Message {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly sentAt: number;
  readonly settle: () => void;
  readonly deadLetterId: string | undefined;
  receiveCount: number;
  /** Failures that were the dependencies' fault, for the backoff only. */
  outageRetries: number;
  firstReceivedAt: number;
  visibleAt: number;
  lastError: string;
  /** Exhausted, but the dead-letter store was not reachable yet: retry the store, not the consumer. */
  exhausted: boolean;
  /** The body's MD5 and the attributes in SQS's form, made at the first delivery that asks. */
  md5: string | undefined;
  sqsAttributes: SQSRecord["messageAttributes"] | undefined;
}

/** A consumer may say why each message failed (the local runtime's handlers do); SQS cannot. */
export interface LocalBatchResponse extends SQSBatchResponse {
  readonly reasons?: ReadonlyMap<string, string>;
}

export type QueueConsumer = (event: SQSEvent) => Promise<LocalBatchResponse | SQSBatchResponse | void>;

export interface SendOptions {
  /** Called once the message is handled: deleted after success, or kept by the dead-letter store. */
  readonly settle?: () => void;
  readonly deadLetterId?: string;
}

/** Messages ordered by the time they become visible again (a binary min-heap). */
class DelayHeap {
  private readonly items: Message[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Message | undefined {
    return this.items[0];
  }

  push(message: Message): void {
    const items = this.items;
    items.push(message);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as Message).visibleAt <= message.visibleAt) break;
      items[i] = items[parent] as Message;
      i = parent;
    }
    items[i] = message;
  }

  pop(): Message | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as Message).visibleAt < (items[left] as Message).visibleAt ? right : left;
      if ((items[child] as Message).visibleAt >= last.visibleAt) break;
      items[i] = items[child] as Message;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/**
 * A message as its consumer gets it, in SQS's record shape. A class, so that the lazy
 * `md5OfBody` is one getter on the prototype. Written in an object literal, the getter made
 * each record a dictionary-mode object with an accessor pair of its own, which V8 makes in
 * the old generation: from there the getter's closure kept the record, its message and all
 * they reached alive past every young collection (a queue whose consumer did nothing, at
 * 3000 messages/s: 1.8 MB survived each young collection, 1 KB with the class), and full
 * collections paused the thread every few seconds for them (young-generation.test.ts).
 */
class LocalSqsRecord implements SQSRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: SQSRecord["attributes"];
  readonly messageAttributes: SQSRecord["messageAttributes"];
  readonly eventSource = "aws:sqs";
  readonly eventSourceARN: string;
  readonly awsRegion = "local";
  readonly #message: Message;

  constructor(message: Message, messageAttributes: SQSRecord["messageAttributes"], queueArn: string) {
    this.messageId = message.messageId;
    this.receiptHandle = `${message.messageId}#${message.receiveCount}`;
    this.body = message.body;
    this.attributes = {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
    };
    this.messageAttributes = messageAttributes;
    this.eventSourceARN = queueArn;
    this.#message = message;
  }

  /** Computed when read (the handlers do not read it), once per message. */
  get md5OfBody(): string {
    const message = this.#message;
    return (message.md5 ??= createHash("md5").update(message.body).digest("hex"));
  }
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * An SQS standard queue in the process: at-least-once delivery in batches, per-message
 * failures (ReportBatchItemFailures), a visibility timeout on each batch, exponential
 * backoff between tries, and a redrive to a durable dead-letter store after
 * `maxReceiveCount` failures of the message's own. Up to `concurrency` batches are in
 * flight at a time (one by default), as a Lambda consumer with that reserved concurrency.
 *
 * It holds nothing durable itself: a message is settled (and so may be acknowledged
 * upstream) only once handled, so whatever a stop or a crash leaves here is replayed from
 * the replication slot at the next start.
 */
export class LocalQueue {
  /** Visible messages, oldest first (`head` is the first one not yet taken; the taken ones are cleared). */
  private ready: Array<Message | undefined> = [];
  private head = 0;
  private readonly delayed = new DelayHeap();
  private inFlightCount = 0;
  private consumer: QueueConsumer | undefined;
  /** The delivery loops running now, at most `concurrency`. */
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private paused = false;

  private readonly arn: string;

  constructor(readonly options: QueueOptions) {
    this.arn = `arn:aws:sqs:local:000000000000:${options.name}`;
  }

  get name(): string {
    return this.options.name;
  }

  /** Messages not yet handled (visible, waiting for a retry, or in flight). */
  depth(): number {
    return this.ready.length - this.head + this.delayed.size + this.inFlightCount;
  }

  inFlight(): number {
    return this.inFlightCount;
  }

  send(body: string, attributes: Readonly<Record<string, string>> = {}, options: SendOptions = {}): void {
    this.ready.push({
      messageId: randomUUID(),
      body,
      attributes,
      sentAt: Date.now(),
      settle: options.settle ?? (() => undefined),
      deadLetterId: options.deadLetterId,
      receiveCount: 0,
      outageRetries: 0,
      firstReceivedAt: 0,
      visibleAt: 0,
      lastError: "",
      exhausted: false,
      md5: undefined,
      sqsAttributes: undefined,
    });
    this.wake();
  }

  consume(consumer: QueueConsumer): void {
    this.consumer = consumer;
    this.wake();
  }

  /** Holds deliveries (the batch in flight finishes); `resume` goes on. */
  pause(): Promise<void> {
    this.paused = true;
    return this.allRunning();
  }

  resume(): void {
    this.paused = false;
    this.wake();
  }

  /** Resolves when nothing is visible and nothing is in flight (failed messages may still wait). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await this.allRunning();
  }

  private allRunning(): Promise<void> {
    return Promise.all([...this.running]).then(() => undefined);
  }

  /**
   * Stops delivering. The batch in flight may finish within `graceMs`; the rest stays
   * unsettled, so its transactions are not acknowledged and replay at the next start.
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    if (this.running.size > 0) await within(this.allRunning(), graceMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private wake(): void {
    if (this.stopped || this.paused || this.consumer === undefined) return;
    const concurrency = Math.max(1, this.options.concurrency ?? 1);
    const batchSize = this.options.batchSize ?? QUEUE_BATCH_SIZE;
    if (this.running.size > 0) this.promoteDue(Date.now());
    while (this.running.size < concurrency) {
      // The first loop starts for any message (and looks at the delayed ones itself); a
      // further one only for a full batch waiting, so a trickle is not cut into single messages.
      if (this.running.size > 0 && this.ready.length - this.head < batchSize) return;
      this.clearTimer();
      const running: Promise<void> = this.loop()
        .catch((error: unknown) => this.options.log?.(`${this.name}: delivery loop failed: ${errorText(error)}`))
        .finally(() => {
          this.running.delete(running);
          this.schedule();
        });
      this.running.add(running);
    }
  }

  /** Sleeps until the next waiting message becomes visible again. */
  private schedule(): void {
    if (this.stopped || this.paused) return;
    if (this.ready.length > this.head) return this.wake();
    const next = this.delayed.peek();
    if (next === undefined || next.visibleAt >= this.timerAt) return;
    this.clearTimer();
    this.timerAt = next.visibleAt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.wake();
    }, Math.max(0, next.visibleAt - Date.now()));
    this.timer.unref();
  }

  private promoteDue(now: number): void {
    for (let next = this.delayed.peek(); next !== undefined && next.visibleAt <= now; next = this.delayed.peek()) {
      this.ready.push(this.delayed.pop() as Message);
    }
  }

  private take(limit: number): Message[] {
    const end = Math.min(this.head + limit, this.ready.length);
    const batch = this.ready.slice(this.head, end) as Message[];
    if (end === this.ready.length) {
      // Taken to the end, as nearly always below a burst: start afresh.
      this.ready.length = 0;
      this.head = 0;
    } else {
      // No taken message stays reachable from here past its delivery: kept until the next
      // compaction, up to 1024 of them were copied by every young collection (a queue whose
      // consumer did nothing, at 3000 messages/s: 750 KB each time, 1 KB cleared).
      this.ready.fill(undefined, this.head, end);
      this.head = end;
      // Compact now and then, so a long backlog does not leave an ever longer array.
      if (this.head > 1024 && this.head * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.head);
        this.head = 0;
      }
    }
    return batch;
  }

  private backoff(tries: number): number {
    const base = this.options.retryDelayMs * 2 ** Math.max(0, tries - 1);
    const capped = Math.min(base, this.options.maxRetryDelayMs ?? 30_000);
    // Jitter, so messages that failed together do not all come back together.
    return Math.round(capped * (0.8 + Math.random() * 0.4));
  }

  private retryLater(message: Message, tries: number): void {
    message.visibleAt = Date.now() + this.backoff(tries);
    this.delayed.push(message);
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.stopped || this.paused || this.consumer === undefined) return;
      this.promoteDue(Date.now());
      const batch = this.take(this.options.batchSize ?? QUEUE_BATCH_SIZE);
      if (batch.length === 0) return;
      this.inFlightCount += batch.length;
      try {
        const exhausted = batch.filter((m) => m.exhausted);
        const fresh = batch.filter((m) => !m.exhausted);
        await Promise.all(exhausted.map((m) => this.deadLetter(m)));
        if (fresh.length > 0) await this.deliver(fresh);
      } finally {
        this.inFlightCount -= batch.length;
      }
    }
  }

  private async deliver(batch: Message[]): Promise<void> {
    const now = Date.now();
    for (const message of batch) {
      message.receiveCount += 1;
      if (message.firstReceivedAt === 0) message.firstReceivedAt = now;
    }
    const reasons = new Map<string, string>();
    let failed: Set<string>;
    try {
      const consumer = this.consumer as QueueConsumer;
      const timeoutMs = this.options.visibilityTimeoutMs ?? 30_000;
      const response = await within(consumer({ Records: batch.map((m) => this.toRecord(m)) }), timeoutMs);
      if (response === TIMED_OUT) {
        failed = new Set(batch.map((m) => m.messageId));
        for (const id of failed) reasons.set(id, `the consumer did not answer within ${timeoutMs} ms`);
      } else {
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        for (const [id, reason] of (response as LocalBatchResponse | undefined)?.reasons ?? []) reasons.set(id, reason);
      }
    } catch (error) {
      this.options.log?.(`${this.name}: batch of ${batch.length} failed: ${errorText(error)}`);
      failed = new Set(batch.map((m) => m.messageId));
      for (const id of failed) reasons.set(id, errorText(error));
    }
    const outage = failed.size > 0 && this.options.dependenciesUp !== undefined && !(await this.options.dependenciesUp().catch(() => false));
    for (const message of batch) {
      if (!failed.has(message.messageId)) {
        message.settle();
        continue;
      }
      message.lastError = reasons.get(message.messageId) ?? "reported as failed by the consumer";
      if (outage) {
        // Not the message's fault: this try does not count towards the dead letters.
        message.receiveCount -= 1;
        message.outageRetries += 1;
        this.retryLater(message, message.outageRetries);
      } else if (message.receiveCount >= this.options.maxReceiveCount && this.options.deadLetters !== undefined) {
        message.exhausted = true;
        await this.deadLetter(message);
      } else this.retryLater(message, message.receiveCount);
    }
  }

  /** Hands an exhausted message to the store; while the store is down, it waits and tries again. */
  private async deadLetter(message: Message): Promise<void> {
    try {
      await (this.options.deadLetters as DeadLetterSink)({
        queue: this.name,
        messageId: message.messageId,
        body: message.body,
        attributes: message.attributes,
        receiveCount: message.receiveCount,
        lastError: message.lastError,
        firstReceivedAt: new Date(message.firstReceivedAt),
        ...(message.deadLetterId === undefined ? {} : { deadLetterId: message.deadLetterId }),
      });
      this.options.log?.(`${this.name}: message ${message.messageId} kept as a dead letter after ${message.receiveCount} tries: ${message.lastError}`);
      message.settle();
    } catch (error) {
      message.outageRetries += 1;
      this.options.log?.(`${this.name}: could not keep dead letter ${message.messageId} (${errorText(error)}); trying again`);
      this.retryLater(message, message.outageRetries);
    }
  }

  private toRecord(message: Message): SQSRecord {
    message.sqsAttributes ??= Object.fromEntries(
      Object.entries(message.attributes).map(([key, value]) => [
        key,
        { stringValue: value, dataType: "String", stringListValues: [], binaryListValues: [] },
      ]),
    );
    return new LocalSqsRecord(message, message.sqsAttributes, this.arn);
  }
}
