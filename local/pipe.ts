import { PIPE_BATCH_SIZE } from "../domain/contracts";
import type { OutboxEnvelope } from "../domain/outbox-event";
import type { Ticket } from "./acknowledgement";
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
  /** First retry delay of a failed enrichment; doubles each time, up to 5 s. */
  readonly retryDelayMs?: number;
  readonly log?: (message: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the local shard's sequence numbers start (a Kinesis sequence number is a decimal string). */
const FIRST_SEQUENCE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n;
const LOW_DIGITS = 15;
const LOW_MODULUS = 10n ** BigInt(LOW_DIGITS);
/** The sequence number's digits above the low 15, which a process's count never carries into. */
const SEQUENCE_HIGH = (FIRST_SEQUENCE / LOW_MODULUS).toString();
const SEQUENCE_LOW = Number(FIRST_SEQUENCE % LOW_MODULUS);

/** FIRST_SEQUENCE + n in decimal, without a BigInt per record while the low digits do not overflow. */
const sequenceNumberAfter = (n: number): string => {
  const low = SEQUENCE_LOW + n;
  return Number.isSafeInteger(low) && low < Number(LOW_MODULUS)
    ? SEQUENCE_HIGH + String(low).padStart(LOW_DIGITS, "0")
    : (FIRST_SEQUENCE + BigInt(n)).toString();
};

/**
 * The EventBridge Pipe, in the process: Kinesis-shaped records in batches, the enrichment
 * function, then the SNS topic. The enrichment throws only when its quarantine is down
 * (it keeps every undecodable record before it returns), so a failed batch is retried,
 * with backoff, until it goes through: a record is never dropped. Deliveries are serial,
 * in commit order, as one Kinesis shard is read.
 */
export class LocalPipe {
  private sequence = 0;
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private stopped = false;

  constructor(private readonly options: PipeOptions) {}

  /** Transactions handed over and not yet through the enrichment. */
  backlog(): number {
    return this.queued;
  }

  /**
   * Queues a transaction's records behind the ones before it. The ticket is closed once
   * every record reached the topic (each copy then holds it until its queue handled it) or
   * was skipped or quarantined.
   */
  enqueue(records: ReadonlyArray<StreamRecord>, ticket: Ticket): void {
    this.queued += 1;
    this.tail = this.tail
      .then(async () => {
        if (!this.stopped) await this.deliver(records, ticket);
      })
      // Never reached by an enrichment failure (retried above); a bug here leaves the ticket
      // open, so the slot holds the transaction and it replays, and the next one still goes.
      .catch((error: unknown) => this.options.log?.(`pipe: delivery failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.queued -= 1;
      });
  }

  /** Stops retrying; what was not delivered stays unacknowledged and replays at the next start. */
  stop(): void {
    this.stopped = true;
  }

  async deliver(records: ReadonlyArray<StreamRecord>, ticket: Ticket): Promise<void> {
    const size = this.options.batchSize ?? PIPE_BATCH_SIZE;
    for (let i = 0; i < records.length; i += size) {
      const delivered = await this.deliverBatch(records.slice(i, i + size).map((record) => this.kinesisRecord(record)), ticket);
      if (!delivered) return;
    }
    ticket.close();
  }

  private kinesisRecord(record: StreamRecord): Record<string, unknown> {
    this.sequence += 1;
    const sequenceNumber = sequenceNumberAfter(this.sequence);
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

  /** Resolves true once the batch reached the topic, false when stopped first. */
  private async deliverBatch(batch: ReadonlyArray<Record<string, unknown>>, ticket: Ticket): Promise<boolean> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        const events = await this.options.enrich(batch);
        for (const event of events) this.options.topic.publish(JSON.stringify(event), { eventType: event.eventType }, ticket);
        return true;
      } catch (error) {
        const delay = Math.min(5_000, (this.options.retryDelayMs ?? 100) * 2 ** (attempt - 1));
        this.options.log?.(`pipe: enrichment of ${batch.length} record(s) failed (attempt ${attempt}), retrying in ${delay} ms: ${error instanceof Error ? error.message : String(error)}`);
        await sleep(delay);
      }
    }
    return false;
  }
}
