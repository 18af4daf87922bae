import type { OutboxEnvelope } from "../domain/outbox-event";
import type { LocalTopic } from "./topic";

export interface StreamRecord {
  /** The record as DMS writes it (JSON). */
  readonly data: unknown;
  /** Kinesis partition key: the aggregate id, as the DMS task maps it. */
  readonly partitionKey: string;
}

export interface PipeOptions {
  readonly enrich: (records: unknown) => Promise<ReadonlyArray<OutboxEnvelope>>;
  readonly topic: LocalTopic;
  readonly batchSize?: number;
  readonly maxAttempts?: number;
  readonly retryDelayMs?: number;
  readonly log?: (message: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The EventBridge Pipe, in the process: Kinesis-shaped records in batches, the enrichment
 * function, then the SNS topic. A batch whose enrichment fails is retried; after the last
 * attempt it goes to the pipe's dead-letter list (as the pipe's SQS DLQ on AWS).
 */
export class LocalPipe {
  private sequence = 0n;
  readonly deadLetters: Array<{ readonly records: unknown; readonly reason: string }> = [];

  constructor(private readonly options: PipeOptions) {}

  /** Delivers records in order; resolves once every batch reached the topic or the dead letters. */
  async deliver(records: ReadonlyArray<StreamRecord>): Promise<void> {
    const size = this.options.batchSize ?? 10;
    for (let i = 0; i < records.length; i += size) {
      await this.deliverBatch(records.slice(i, i + size).map((record) => this.kinesisRecord(record)));
    }
  }

  private kinesisRecord(record: StreamRecord): Record<string, unknown> {
    this.sequence += 1n;
    const sequenceNumber = (49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n + this.sequence).toString();
    return {
      kinesisSchemaVersion: "1.0",
      partitionKey: record.partitionKey,
      sequenceNumber,
      data: Buffer.from(JSON.stringify(record.data), "utf8").toString("base64"),
      approximateArrivalTimestamp: Date.now() / 1000,
      eventSource: "aws:kinesis",
      eventVersion: "1.0",
      eventID: `shardId-000000000000:${sequenceNumber}`,
      eventName: "aws:kinesis:record",
      invokeIdentityArn: "arn:aws:iam::000000000000:role/local-pipe",
      awsRegion: "local",
      eventSourceARN: "arn:aws:kinesis:local:000000000000:stream/outbox",
    };
  }

  private async deliverBatch(batch: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    const attempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        const events = await this.options.enrich(batch);
        for (const event of events) this.options.topic.publish(JSON.stringify(event), { eventType: event.eventType });
        return;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (attempt >= attempts) {
          this.options.log?.(`pipe: batch of ${batch.length} sent to the dead letters after ${attempt} attempts: ${reason}`);
          this.deadLetters.push({ records: batch, reason });
          return;
        }
        await sleep((this.options.retryDelayMs ?? 200) * attempt);
      }
    }
  }
}
