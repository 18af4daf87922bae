import { isLeft } from "fp-ts/Either";
import { Client, type ClientConfig } from "pg";
import { PgoutputPlugin } from "pg-logical-replication";
import type { Pgoutput } from "pg-logical-replication";
import { OUTBOX_SCHEMA, OUTBOX_TABLE } from "../domain/contracts";
import { type DmsChangeMeta, dmsRecordForOutboxRow, type OutboxRowImage } from "../adapters/cdc/dms-record-render";
import { CommitTracker, formatLsn, parseLsn, Ticket, type Lsn } from "./acknowledgement";
import type { StreamRecord } from "./pipe";
import { decodeWalOutboxRow } from "./wal-row";

export interface LogTailerOptions {
  readonly connectionString: string;
  /** Replication slots are server-wide: name one per database. */
  readonly slotName: string;
  readonly publicationName: string;
  /**
   * Takes a committed transaction's outbox records (or a page of the initial load), in
   * commit order, without waiting, and with them the ticket: the receiver closes it once
   * every record was handed on. The slot moves past it once the ticket is done. A streamed
   * transaction comes at its commit record, when its rows may not be visible yet: what
   * reads or deletes them waits for `visible()` first.
   */
  readonly onTransaction: (records: ReadonlyArray<StreamRecord>, ticket: Ticket) => void;
  /** True while downstream is too far behind: the tailer stops reading until it is not. */
  readonly saturated?: () => boolean;
  /** How often a status update goes to the server (PostgreSQL drops a silent client at `wal_sender_timeout`). */
  readonly statusIntervalMs?: number;
  readonly initialLoadPageSize?: number;
  readonly log?: (message: string) => void;
}

export interface TailerStatus {
  readonly slotName: string;
  readonly streaming: boolean;
  /** What this tailer last told the server it may forget. */
  readonly confirmedLsn: string | null;
  readonly pendingTransactions: number;
  /** How long the oldest transaction not yet fully handled has waited. */
  readonly lagMs: number;
  readonly reconnects: number;
  readonly initialLoads: number;
}

export interface LogTailer {
  status(): TailerStatus;
  /**
   * Drops the replication connection (it comes back with backoff, from the slot). Called
   * when the database is going away: a stopping server waits for its walsender, and the
   * walsender waits until its client confirmed everything sent, which transactions that
   * cannot finish while the database is down never are. Nothing is lost: they replay.
   */
  interrupt(reason: string): void;
  /**
   * Resolves once every transaction handed on so far is visible to other sessions (see
   * `visibilityWatch`); rejects when the tailer stops first.
   */
  visible(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * How long a settled transaction may wait for its status update, so the transactions that
 * settle meanwhile share it. Each update is a write on the replication connection and a
 * wake-up of the walsender: at one per settled transaction they were a third of the tailer's
 * writes to PostgreSQL under load. Waiting costs nothing but a later confirmation (a crash
 * meanwhile replays those few transactions, and the event-id markers absorb them); a stop
 * still confirms at once.
 */
const CONFIRM_COALESCE_MS = 10;

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

/** pgoutput times are microseconds since the Unix epoch (the library shifts the PostgreSQL epoch). */
const microsToDate = (micros: unknown): Date => new Date(Number(BigInt(micros as bigint) / 1000n));

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** SQLSTATEs of a slot that is gone (dropped) or can no longer stream (invalidated, its WAL removed). */
const isSlotLost = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "42704" || (code === "55000" && /invalidated|can no longer get changes/i.test(errorText(error)));
};

/** A status update (StandbyStatusUpdate): written, flushed and applied are all `confirmed`. */
const statusUpdate = (confirmed: Lsn, replyRequested: boolean): Buffer => {
  const message = Buffer.alloc(34);
  message.write("r", 0, "latin1");
  message.writeBigUInt64BE(confirmed, 1);
  message.writeBigUInt64BE(confirmed, 9);
  message.writeBigUInt64BE(confirmed, 17);
  message.writeBigInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_MICROS, 25);
  message.writeUInt8(replyRequested ? 1 : 0, 33);
  return message;
};

/**
 * An insert whose row is not an outbox row (the table changed under the tailer): handed on
 * with the columns as they came, in DMS's envelope, as DMS would write it. The enrichment
 * quarantines it with its reason: never dropped unseen, and it does not block the stream.
 */
const undecodedRecord = (row: unknown, meta: DmsChangeMeta): StreamRecord => {
  // The metadata of any change, then marked as the insert it is.
  const { metadata } = dmsRecordForOutboxRow({ id: "" }, "delete", meta);
  const aggregate = (row as { aggregate_id?: unknown; id?: unknown } | null | undefined) ?? {};
  return { data: { data: row, metadata: { ...metadata, operation: "insert" } }, partitionKey: String(aggregate.aggregate_id ?? aggregate.id ?? "") };
};

/** pg's connection, which its types leave out: a replication client reads and writes COPY data on it. */
const replicationConnectionOf = (client: Client): ReplicationConnection =>
  (client as unknown as { connection: ReplicationConnection }).connection;

const withClient = async <T>(connectionString: string, work: (client: Client) => Promise<T>): Promise<T> => {
  const client = new Client({ connectionString });
  // A server that goes away mid-query rejects the query; the event must not go unheard.
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
};

interface Snapshot {
  readonly xmin: bigint;
  readonly xmax: bigint;
  readonly running: ReadonlySet<bigint>;
}

/** `pg_current_snapshot()` as text: `xmin:xmax:xip,xip,...`, 64-bit transaction ids. */
const parseSnapshot = (text: string): Snapshot => {
  const [xmin = "0", xmax = "0", xip = ""] = text.split(":");
  return { xmin: BigInt(xmin), xmax: BigInt(xmax), running: new Set(xip === "" ? [] : xip.split(",").map((x) => BigInt(x))) };
};

/** Whether the transaction with this 32-bit id (as pgoutput sends it) is visible in the snapshot. */
const visibleIn = (snapshot: Snapshot, xid: number): boolean => {
  // Widen to 64 bits with the epoch of xmax: the transaction committed, so it is not newer.
  let full = (snapshot.xmax & ~0xffffffffn) | BigInt(xid >>> 0);
  if (full > snapshot.xmax && full >= 0x100000000n) full -= 0x100000000n;
  return full < snapshot.xmin || (full < snapshot.xmax && !snapshot.running.has(full));
};

/**
 * PostgreSQL writes (and so may stream) a commit record before the committing session
 * leaves the list of running transactions, so for a moment other sessions cannot see its
 * rows yet (with a synchronous standby, for as long as the standby takes to answer). The
 * transaction is committed all the same (a crash then recovers it as committed), so its
 * events are handed on at once. Only what reads or deletes its rows must wait: a purge
 * arriving in that moment would delete nothing and be counted done, leaving the row for ever:
 *   writer: COMMIT record flushed          walsender: decodes it, sends it
 *                                           purge: DELETE ... id = $1 -> 0 rows (invisible)
 *   writer: leaves the running list        the row stays in the outbox
 * `visible()` is that wait: it resolves once every transaction handed on before it was
 * called is visible to a fresh snapshot, with one query for all who wait meanwhile, and
 * none while everything handed on was already seen.
 */
const visibilityWatch = (connectionString: string, onDatabaseDown: () => void) => {
  // A FIFO with a moving head: shift() on an array this long (a burst holds thousands)
  // copies the whole rest each time.
  let pending: number[] = [];
  let head = 0;
  /** Transactions handed on, and how many of them (in commit order) a snapshot saw. */
  let noted = 0;
  let seen = 0;
  let waiters: Array<{ readonly upTo: number; readonly resolve: () => void; readonly reject: (error: Error) => void }> = [];
  let client: Client | undefined;
  let draining = false;
  let stopped = false;

  const snapshot = async (): Promise<Snapshot> => {
    if (client === undefined) {
      const fresh = new Client({ connectionString });
      fresh.on("error", () => {
        if (client === fresh) client = undefined;
      });
      await fresh.connect();
      client = fresh;
    }
    const result = await client.query<{ snapshot: string }>("SELECT pg_current_snapshot()::text AS snapshot");
    return parseSnapshot(result.rows[0]?.snapshot ?? "0:0:");
  };

  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    try {
      while (waiters.length > 0 && !stopped) {
        let current: Snapshot;
        try {
          current = await snapshot();
        } catch {
          // The server is away (or stopping, and then waiting for our walsender to be
          // confirmed up to date, which these transactions cannot be): let go of it.
          onDatabaseDown();
          void client?.end().catch(() => undefined);
          client = undefined;
          await sleep(200);
          continue;
        }
        const before = seen;
        while (head < pending.length && visibleIn(current, pending[head] as number)) {
          head += 1;
          seen += 1;
        }
        if (head === pending.length) {
          pending = [];
          head = 0;
        } else if (head > 1024 && head * 2 > pending.length) {
          pending = pending.slice(head);
          head = 0;
        }
        const done = waiters.filter((w) => w.upTo <= seen);
        waiters = waiters.filter((w) => w.upTo > seen);
        for (const waiter of done) waiter.resolve();
        if (seen === before) await sleep(1);
      }
    } finally {
      draining = false;
    }
  };

  return {
    /** A committed transaction (its 32-bit id, as pgoutput sends it) handed on, in commit order. */
    note: (xid: number) => {
      pending.push(xid);
      noted += 1;
    },
    visible: (): Promise<void> => {
      if (stopped) return Promise.reject(new Error("the log tailer stopped"));
      if (seen === noted) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.push({ upTo: noted, resolve, reject });
        void drain();
      });
    },
    stop: async () => {
      stopped = true;
      const left = waiters;
      waiters = [];
      for (const waiter of left) waiter.reject(new Error("the log tailer stopped"));
      await client?.end().catch(() => undefined);
    },
  };
};

/**
 * The local stand-in for DMS change data capture: reads the outbox table's changes from the
 * WAL through a logical replication slot (pgoutput), renders each as the JSON record DMS
 * writes to Kinesis, and hands a transaction's records on after its COMMIT.
 *
 * Acknowledgement is the whole point. The slot's confirmed position is sent as the exact
 * commit end of the last transaction of the longest fully handled prefix (never "+1": a
 * transaction whose commit record starts exactly there would be skipped). With nothing
 * pending it follows the server's WAL end, so an idle outbox in a busy database holds no
 * WAL. Any disconnect opens a fresh connection that streams from the slot's confirmed
 * position, never from what was merely received. A slot that was created (first start, or
 * after it was dropped or invalidated) first delivers the rows already in the outbox as DMS
 * `load` records, as DMS's full load does; the slot is made first, so nothing falls between.
 */
export const startLogTailer = async (options: LogTailerOptions): Promise<LogTailer> => {
  const log = options.log ?? (() => undefined);
  const statusIntervalMs = options.statusIntervalMs ?? 5_000;
  let stopping = false;
  let streaming = false;
  let reconnects = 0;
  let initialLoads = 0;
  let sent: Lsn | undefined;
  let current: { client: Client; send: (replyRequested: boolean) => void } | undefined;

  // Coalesced: the transactions settling within CONFIRM_COALESCE_MS make one status update.
  let updateScheduled = false;
  const visibility = visibilityWatch(options.connectionString, () => interrupt("PostgreSQL is not answering"));
  const tracker = new CommitTracker(0n, () => {
    if (updateScheduled) return;
    updateScheduled = true;
    setTimeout(() => {
      updateScheduled = false;
      current?.send(false);
    }, CONFIRM_COALESCE_MS).unref();
  });
  let markReady: () => void = () => undefined;
  let markFailed: (error: unknown) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  let started = false;
  const announce = () => {
    if (started) return;
    started = true;
    markReady();
  };

  const ensurePublication = () =>
    withClient(options.connectionString, async (client) => {
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [options.slotName]);
      // Inserts only. DMS on AWS streams the purge's deletes too and the enrichment skips
      // them; here they would cost the walsender, the tailer, the visibility check and the pipe
      // as much again as the events themselves, for nothing. An older publication is narrowed.
      const name = client.escapeIdentifier(options.publicationName);
      const publication = await client.query<{ insert_only: boolean }>(
        "SELECT pubinsert AND NOT (pubupdate OR pubdelete OR pubtruncate) AS insert_only FROM pg_publication WHERE pubname = $1",
        [options.publicationName],
      );
      if (publication.rowCount === 0) {
        await client.query(`CREATE PUBLICATION ${name} FOR TABLE ${OUTBOX_SCHEMA}.${OUTBOX_TABLE} WITH (publish = 'insert')`);
      } else if (publication.rows[0]?.insert_only !== true) {
        await client.query(`ALTER PUBLICATION ${name} SET (publish = 'insert')`);
      }
    });

  /** Creates the slot when missing (recording that it needs an initial load first); drops an invalidated one. */
  const ensureSlot = () =>
    withClient(options.connectionString, async (client) => {
      const slot = await client.query<{ wal_status: string | null }>(
        "SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1",
        [options.slotName],
      );
      const lost = slot.rows[0]?.wal_status === "lost";
      if (slot.rowCount !== 0 && !lost) return;
      if (lost) {
        log(`replication slot ${options.slotName} was invalidated (its WAL is gone): recreating it with an initial load`);
        await client.query("SELECT pg_drop_replication_slot($1)", [options.slotName]);
      } else if (sent !== undefined) {
        log(`replication slot ${options.slotName} was dropped: recreating it with an initial load`);
      }
      // The request is recorded before the slot exists: a crash in between still loads.
      await client.query("INSERT INTO local_runtime.initial_load (slot_name) VALUES ($1) ON CONFLICT DO NOTHING", [options.slotName]);
      await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [options.slotName]);
      log(`replication slot ${options.slotName} created`);
    });

  /** The rows already in the outbox, as DMS full-load records; done once every page was handled. */
  const initialLoad = () =>
    withClient(options.connectionString, async (client) => {
      const requested = await client.query("SELECT 1 FROM local_runtime.initial_load WHERE slot_name = $1", [options.slotName]);
      if (requested.rowCount === 0) return;
      // A large outbox may take a while: the runtime is up meanwhile, and the stream waits.
      announce();
      const pageSize = options.initialLoadPageSize ?? 500;
      let after: { at: Date; id: string } | undefined;
      let rows = 0;
      for (;;) {
        const page = await client.query<OutboxRowImage & { occurred_at: Date }>(
          `SELECT id::text, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at
             FROM ${OUTBOX_SCHEMA}.${OUTBOX_TABLE}
            WHERE $1::timestamptz IS NULL OR (occurred_at, id) > ($1::timestamptz, $2::uuid)
            ORDER BY occurred_at, id LIMIT $3`,
          [after?.at ?? null, after?.id ?? null, pageSize],
        );
        if (page.rows.length === 0) break;
        const ticket = new Ticket();
        const loadedAt = new Date();
        options.onTransaction(
          page.rows.map((row) => ({
            data: dmsRecordForOutboxRow(row, "load", { transactionId: 0, commitTimestamp: loadedAt }),
            partitionKey: row.aggregate_id,
          })),
          ticket,
        );
        await ticket.whenDone();
        rows += page.rows.length;
        const last = page.rows[page.rows.length - 1] as OutboxRowImage & { occurred_at: Date };
        after = { at: last.occurred_at, id: last.id };
      }
      await client.query("DELETE FROM local_runtime.initial_load WHERE slot_name = $1", [options.slotName]);
      initialLoads += 1;
      log(`initial load of slot ${options.slotName}: ${rows} outbox row(s) delivered as load records`);
    });

  /** One replication connection, until it ends. Resolves or rejects when it closes. */
  const stream = async (onStreaming: () => void): Promise<void> => {
    // pg supports `replication` (a walsender connection), its types do not list it.
    const config: ClientConfig & { readonly replication: "database" } = { connectionString: options.connectionString, replication: "database" };
    const client = new Client(config);
    client.on("error", (error: Error) => stopping || log(`replication connection: ${error.message}`));
    await client.connect();
    const connection = replicationConnectionOf(client);
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [options.publicationName] });
    let transaction: { xid: number; commitTime: Date; records: StreamRecord[] } | undefined;
    let paused = false;

    const send = (replyRequested: boolean) => {
      if (!streaming || current?.client !== client) return;
      const confirmed = tracker.confirmable();
      if (!replyRequested && confirmed === sent) return;
      connection.sendCopyFromChunk(statusUpdate(confirmed, replyRequested));
      sent = confirmed;
    };

    const onMessage = (lsn: string, message: Pgoutput.Message) => {
      switch (message.tag) {
        case "begin":
          tracker.setOpenTransaction(true);
          transaction = { xid: message.xid, commitTime: microsToDate(message.commitTime), records: [] };
          return;
        case "insert": {
          // The publication sends inserts only (see ensurePublication).
          if (transaction === undefined || message.relation.name !== OUTBOX_TABLE || message.relation.schema !== OUTBOX_SCHEMA) return;
          const meta = {
            transactionId: transaction.xid,
            commitTimestamp: transaction.commitTime,
            timestamp: new Date(),
            transactionRecordId: transaction.records.length + 1,
            streamPosition: lsn,
          };
          const row = decodeWalOutboxRow(message.new);
          if (isLeft(row)) {
            log(`log tailer: an outbox insert at ${lsn} is not an outbox row (${row.left}); the enrichment will quarantine it`);
            transaction.records.push(undecodedRecord(message.new, meta));
          } else {
            transaction.records.push({ data: dmsRecordForOutboxRow(row.right, "insert", meta), partitionKey: row.right.aggregate_id });
          }
          return;
        }
        case "commit": {
          const records = transaction?.records ?? [];
          const xid = transaction?.xid ?? 0;
          transaction = undefined;
          // The commit's end, exactly: the next transaction's commit may start right there.
          const ticket = tracker.track(parseLsn(message.commitEndLsn as string));
          // The receiver owns the ticket from here and closes it once it handed every record
          // on; a commit without outbox records is done at once.
          if (records.length > 0) {
            visibility.note(xid);
            options.onTransaction(records, ticket);
          } else ticket.close();
          tracker.setOpenTransaction(false);
          if (!paused && options.saturated?.()) {
            paused = true;
            connection.stream.pause();
          }
          return;
        }
        default:
          return;
      }
    };

    connection.on("copyData", ({ chunk }: { chunk: Buffer }) => {
      try {
        if (chunk[0] === 0x77 /* w: XLogData */) {
          onMessage(formatLsn(chunk.readBigUInt64BE(1)), plugin.parse(chunk.subarray(25)) as Pgoutput.Message);
        } else if (chunk[0] === 0x6b /* k: primary keepalive */) {
          tracker.noteServerEnd(chunk.readBigUInt64BE(1));
          if (chunk[17] === 1) send(true);
        }
      } catch (error) {
        // A message we cannot read: drop this connection; the next one replays from the slot.
        log(`log tailer: cannot read a replication message (${errorText(error)}); reconnecting`);
        connection.stream.destroy();
      }
    });
    connection.once("replicationStart", () => {
      streaming = true;
      onStreaming();
      send(true);
    });

    current = { client, send };
    tracker.resetServerEnd();
    // Asking for a reply each time makes the server report its WAL end, which an idle
    // outbox then confirms.
    const heartbeat = setInterval(() => send(true), statusIntervalMs);
    const flow = setInterval(() => {
      if (paused && !options.saturated?.()) {
        paused = false;
        connection.stream.resume();
      }
    }, 50);
    try {
      await client.query(
        `START_REPLICATION SLOT ${client.escapeIdentifier(options.slotName)} LOGICAL 0/0 ` +
          `(proto_version '1', publication_names ${client.escapeLiteral(options.publicationName)})`,
      );
    } finally {
      clearInterval(heartbeat);
      clearInterval(flow);
      streaming = false;
      if (current?.client === client) current = undefined;
      await client.end().catch(() => undefined);
    }
  };

  function interrupt(reason: string): void {
    if (current === undefined || stopping) return;
    log(`log tailer: dropping the replication connection (${reason}); it resumes from the slot`);
    replicationConnectionOf(current.client).stream.destroy();
  }

  const firstTry = Date.now();
  const run = (async () => {
    let backoff = 250;
    while (!stopping) {
      try {
        await ensureSlot();
        await initialLoad();
        if (stopping) return;
        await stream(() => {
          backoff = 250;
          announce();
        });
        if (!stopping) log("log tailer: the server ended replication; reconnecting");
      } catch (error) {
        if (stopping) return;
        // A first start that cannot stream at all (the slot used by another runtime) fails the
        // start; the walsender of a runtime that just died may hold the slot a moment longer.
        if (!started && (error as { code?: unknown }).code === "55006" && Date.now() - firstTry > 10_000) {
          return markFailed(new Error(`replication slot ${options.slotName} is in use by another process: ${errorText(error)}`));
        }
        if (isSlotLost(error)) log(`replication slot ${options.slotName} is gone (${errorText(error)}): it will be recreated`);
        else log(`log tailer disconnected (${errorText(error)}); reconnecting in ${backoff} ms`);
      }
      if (stopping) return;
      reconnects += 1;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 5_000);
    }
  })();

  const stop = async (): Promise<void> => {
    stopping = true;
    // Tell the server what is done before going: the rest replays at the next start.
    try {
      current?.send(false);
    } catch {
      // the connection is already gone
    }
    await current?.client.end().catch(() => undefined);
    await visibility.stop();
    await Promise.race([run, sleep(3_000)]);
  };

  await ensurePublication();
  await Promise.race([ready, run.then(() => (started ? undefined : ready))]).catch(async (error: unknown) => {
    await stop();
    throw error;
  });

  return {
    interrupt,
    status: () => ({
      slotName: options.slotName,
      streaming,
      confirmedLsn: sent === undefined ? null : formatLsn(sent),
      pendingTransactions: tracker.pendingCount(),
      lagMs: tracker.oldestPendingAgeMs(),
      reconnects,
      initialLoads,
    }),
    visible: () => visibility.visible(),
    stop,
  };
};

/** The parts of pg's (untyped) connection a replication client uses. */
interface ReplicationConnection {
  on(event: "copyData", listener: (message: { chunk: Buffer }) => void): void;
  once(event: "replicationStart", listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  readonly stream: { pause(): void; resume(): void; destroy(): void };
}
