import { createHash, randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

export interface QueueOptions {
  readonly name: string;
  /** How long a failed message stays invisible before its next try. */
  readonly retryDelayMs: number;
  /** Deliveries before a message moves to the dead-letter queue (SQS redrive `maxReceiveCount`). */
  readonly maxReceiveCount: number;
  readonly batchSize?: number;
  readonly deadLetter?: LocalQueue;
  readonly log?: (message: string) => void;
}

interface Message {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly sentAt: number;
  receiveCount: number;
  visibleAt: number;
}

export type QueueConsumer = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

/**
 * An SQS standard queue in the process: at-least-once delivery in batches, per-message
 * failures (ReportBatchItemFailures), retries after a delay and a redrive to a dead-letter
 * queue after `maxReceiveCount` deliveries. One batch is in flight at a time, as a Lambda
 * consumer with a concurrency of one.
 */
export class LocalQueue {
  private readonly messages: Message[] = [];
  private consumer: QueueConsumer | undefined;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(readonly options: QueueOptions) {}

  get name(): string {
    return this.options.name;
  }

  /** Messages not yet deleted (visible or in flight). */
  depth(): number {
    return this.messages.length;
  }

  bodies(): ReadonlyArray<string> {
    return this.messages.map((m) => m.body);
  }

  send(body: string, attributes: Readonly<Record<string, string>> = {}): void {
    this.messages.push({ messageId: randomUUID(), body, attributes, sentAt: Date.now(), receiveCount: 0, visibleAt: 0 });
    this.wake();
  }

  consume(consumer: QueueConsumer): void {
    this.consumer = consumer;
    this.wake();
  }

  /** Resolves when nothing is visible and nothing is in flight (failed messages may still wait). */
  async drain(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.drain();
  }

  private wake(): void {
    if (this.stopped || this.consumer === undefined || this.running !== undefined) return;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }

  /** Sleeps until the next failed message becomes visible again. */
  private schedule(): void {
    if (this.stopped || this.messages.length === 0) return;
    const next = Math.min(...this.messages.map((m) => m.visibleAt));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wake();
    }, Math.max(0, next - Date.now()));
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.stopped || this.consumer === undefined) return;
      const now = Date.now();
      const batch = this.messages.filter((m) => m.visibleAt <= now).slice(0, this.options.batchSize ?? 10);
      if (batch.length === 0) return;
      for (const message of batch) {
        message.receiveCount += 1;
        message.visibleAt = Number.POSITIVE_INFINITY;
      }
      let failed: Set<string>;
      try {
        const response = await this.consumer({ Records: batch.map((m) => this.toRecord(m)) });
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (error) {
        this.options.log?.(`${this.name}: batch of ${batch.length} failed: ${error instanceof Error ? error.message : String(error)}`);
        failed = new Set(batch.map((m) => m.messageId));
      }
      for (const message of batch) {
        if (!failed.has(message.messageId)) this.remove(message);
        else if (message.receiveCount >= this.options.maxReceiveCount) {
          this.remove(message);
          this.options.log?.(`${this.name}: message ${message.messageId} moved to ${this.options.deadLetter?.name ?? "nowhere"} after ${message.receiveCount} tries`);
          this.options.deadLetter?.send(message.body, message.attributes);
        } else message.visibleAt = Date.now() + this.options.retryDelayMs;
      }
    }
  }

  private remove(message: Message): void {
    const index = this.messages.indexOf(message);
    if (index >= 0) this.messages.splice(index, 1);
  }

  private toRecord(message: Message): SQSRecord {
    return {
      messageId: message.messageId,
      receiptHandle: `${message.messageId}#${message.receiveCount}`,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: "local",
        ApproximateFirstReceiveTimestamp: String(message.sentAt),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(message.attributes).map(([key, value]) => [
          key,
          { stringValue: value, dataType: "String", stringListValues: [], binaryListValues: [] },
        ]),
      ),
      md5OfBody: createHash("md5").update(message.body).digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:local:000000000000:${this.name}`,
      awsRegion: "local",
    };
  }
}
