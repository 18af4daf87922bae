import { Client } from "pg";
import { LogicalReplicationService, PgoutputPlugin } from "pg-logical-replication";
import type { Pgoutput } from "pg-logical-replication";
import { dmsRecordForOutboxRow, OUTBOX_SCHEMA, OUTBOX_TABLE, type OutboxRowImage } from "../adapters/cdc/dms-record";
import type { StreamRecord } from "./pipe";

export interface LogTailerOptions {
  readonly connectionString: string;
  /** Replication slots are server-wide: name one per database. */
  readonly slotName: string;
  readonly publicationName: string;
  /** Called once per committed transaction that touched the outbox, in commit order. */
  readonly onTransaction: (records: ReadonlyArray<StreamRecord>) => Promise<void>;
  readonly log?: (message: string) => void;
}

export interface LogTailer {
  stop(): Promise<void>;
}

/** Creates the publication and the slot when missing; both survive restarts, so no change is lost. */
const ensureSlot = async (options: LogTailerOptions): Promise<void> => {
  const client = new Client({ connectionString: options.connectionString });
  await client.connect();
  try {
    const publication = await client.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [options.publicationName]);
    if (publication.rowCount === 0) {
      await client.query(`CREATE PUBLICATION ${client.escapeIdentifier(options.publicationName)} FOR TABLE ${OUTBOX_SCHEMA}.${OUTBOX_TABLE}`);
    }
    const slot = await client.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [options.slotName]);
    if (slot.rowCount === 0) {
      await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [options.slotName]);
    }
  } finally {
    await client.end();
  }
};

/** pgoutput times are microseconds since the Unix epoch (the library shifts the PostgreSQL epoch). */
const microsToDate = (micros: unknown): Date => new Date(Number(BigInt(micros as bigint) / 1000n));

/**
 * The local stand-in for DMS change data capture: reads the outbox table's changes from the
 * WAL through a logical replication slot (pgoutput), renders each as the JSON record DMS
 * writes to Kinesis, and hands a transaction's records on after its COMMIT. The slot is
 * acknowledged only once they were handed on, so a crash replays them (at-least-once,
 * which the consumers absorb by event id) and never loses one.
 */
export const startLogTailer = async (options: LogTailerOptions): Promise<LogTailer> => {
  await ensureSlot(options);
  const service = new LogicalReplicationService(
    { connectionString: options.connectionString },
    { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
  );
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [options.publicationName] });

  let transaction: { xid: number; commitTime: Date; records: StreamRecord[] } | undefined;
  service.on("data", async (lsn: string, message: Pgoutput.Message) => {
    switch (message.tag) {
      case "begin":
        transaction = { xid: message.xid, commitTime: microsToDate(message.commitTime), records: [] };
        return;
      case "insert":
      case "delete": {
        if (transaction === undefined || message.relation.name !== OUTBOX_TABLE || message.relation.schema !== OUTBOX_SCHEMA) return;
        const meta = {
          transactionId: transaction.xid,
          commitTimestamp: transaction.commitTime,
          timestamp: new Date(),
          transactionRecordId: transaction.records.length + 1,
          streamPosition: lsn,
        };
        if (message.tag === "insert") {
          const row = message.new as OutboxRowImage;
          transaction.records.push({ data: dmsRecordForOutboxRow(row, "insert", meta), partitionKey: row.aggregate_id });
        } else {
          const id = String((message.key ?? message.old ?? {}).id);
          // A delete carries only the key; DMS falls back to it for the partition key.
          transaction.records.push({ data: dmsRecordForOutboxRow({ id }, "delete", meta), partitionKey: id });
        }
        return;
      }
      case "commit": {
        const done = transaction;
        transaction = undefined;
        if (done !== undefined && done.records.length > 0) await options.onTransaction(done.records);
        await service.acknowledge(lsn);
        return;
      }
      default:
        return;
    }
  });

  let stopping = false;
  service.on("error", (error: Error) => {
    if (!stopping) options.log?.(`log tailer: ${error.message}`);
  });

  // Resolves once the server streams changes; a first subscription that fails is an error
  // of the start (a slot in use, say), later disconnects are retried until stopped.
  let markReady: () => void = () => undefined;
  let markFailed: (error: unknown) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  let started = false;
  service.on("start", () => {
    started = true;
    markReady();
  });

  // subscribe() resolves only when the stream ends; reconnect until stopped.
  const run = (async () => {
    while (!stopping) {
      try {
        await service.subscribe(plugin, options.slotName);
      } catch (error) {
        if (stopping) return;
        if (!started) return markFailed(error);
        options.log?.(`log tailer disconnected (${error instanceof Error ? error.message : String(error)}); reconnecting`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  })();

  const stop = async (): Promise<void> => {
    stopping = true;
    await service.stop();
    // subscribe() settles once its connection closes; do not let a stuck socket hold shutdown.
    await Promise.race([run, new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
  };

  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
};
