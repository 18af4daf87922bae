import * as TE from "fp-ts/TaskEither";
import { type Kysely, sql } from "kysely";
import type { Database } from "../adapters/postgres/schema";
import { unavailable } from "../domain/errors";
import type { Quarantine, QuarantinedRecord } from "../domain/ports";
import type { DeadLetter } from "./queue";

/**
 * The local runtime's durable dead letters and quarantine: tables of their own schema in
 * the runtime's PostgreSQL (on AWS these are SQS queues). A message counts as handled once
 * its row committed, so a restart erases nothing. The schema is the runtime's, not the
 * application's: no migration of the order service creates it.
 */
const SCHEMA_DDL = sql`
  CREATE SCHEMA IF NOT EXISTS local_runtime;
  CREATE TABLE IF NOT EXISTS local_runtime.dead_letter (
    id bigserial PRIMARY KEY,
    queue text NOT NULL,
    message_id text NOT NULL,
    body text NOT NULL,
    attributes jsonb NOT NULL DEFAULT '{}',
    receive_count int NOT NULL,
    last_error text NOT NULL,
    first_received_at timestamptz NOT NULL,
    dead_lettered_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX IF NOT EXISTS dead_letter_queue ON local_runtime.dead_letter (queue, id);
  CREATE TABLE IF NOT EXISTS local_runtime.quarantine (
    id bigserial PRIMARY KEY,
    raw jsonb NOT NULL,
    reason text NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS local_runtime.initial_load (
    slot_name text PRIMARY KEY,
    requested_at timestamptz NOT NULL DEFAULT now()
  );
`;

export interface StoredDeadLetter {
  readonly id: string;
  readonly queue: string;
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly receiveCount: number;
  readonly lastError: string;
}

export interface StoredQuarantined extends QuarantinedRecord {
  readonly id: string;
}

export interface DeadLetterStore {
  /** Keeps a dead letter; one that came from the store (a redrive) updates its own row. */
  readonly put: (letter: DeadLetter) => Promise<void>;
  readonly list: (queue: string, limit: number) => Promise<ReadonlyArray<StoredDeadLetter>>;
  readonly remove: (id: string) => Promise<void>;
  readonly counts: () => Promise<Record<string, number>>;
  /** The quarantine port of the enrichment, durable. */
  readonly quarantine: Quarantine & {
    readonly list: (limit: number) => Promise<ReadonlyArray<StoredQuarantined>>;
    readonly remove: (ids: ReadonlyArray<string>) => Promise<void>;
    readonly size: () => Promise<number>;
  };
}

export const ensureRuntimeSchema = async (db: Kysely<Database>): Promise<void> => {
  // Two runtimes starting at once on one database would race on CREATE ... IF NOT EXISTS.
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('local_runtime schema'))`.execute(trx);
    await SCHEMA_DDL.execute(trx);
  });
};

export const createDeadLetterStore = (db: Kysely<Database>): DeadLetterStore => ({
  put: async (letter) => {
    if (letter.deadLetterId !== undefined) {
      const updated = await sql`
        UPDATE local_runtime.dead_letter
           SET receive_count = receive_count + ${letter.receiveCount}, last_error = ${letter.lastError}, dead_lettered_at = now()
         WHERE id = ${letter.deadLetterId}`.execute(db);
      if (Number(updated.numAffectedRows ?? 0) > 0) return;
    }
    await sql`
      INSERT INTO local_runtime.dead_letter (queue, message_id, body, attributes, receive_count, last_error, first_received_at)
      VALUES (${letter.queue}, ${letter.messageId}, ${letter.body}, ${JSON.stringify(letter.attributes)}::jsonb,
              ${letter.receiveCount}, ${letter.lastError}, ${letter.firstReceivedAt})`.execute(db);
  },
  list: async (queue, limit) => {
    const result = await sql<{ id: string; queue: string; message_id: string; body: string; attributes: Record<string, string>; receive_count: number; last_error: string }>`
      SELECT id::text, queue, message_id, body, attributes, receive_count, last_error
        FROM local_runtime.dead_letter WHERE queue = ${queue} ORDER BY id LIMIT ${limit}`.execute(db);
    return result.rows.map((row) => ({
      id: row.id,
      queue: row.queue,
      messageId: row.message_id,
      body: row.body,
      attributes: row.attributes,
      receiveCount: row.receive_count,
      lastError: row.last_error,
    }));
  },
  remove: async (id) => {
    await sql`DELETE FROM local_runtime.dead_letter WHERE id = ${id}`.execute(db);
  },
  counts: async () => {
    const result = await sql<{ queue: string; n: number }>`
      SELECT queue, count(*)::int AS n FROM local_runtime.dead_letter GROUP BY queue`.execute(db);
    return Object.fromEntries(result.rows.map((row) => [row.queue, row.n]));
  },
  quarantine: {
    put: (records) =>
      TE.tryCatch(async () => {
        if (records.length === 0) return;
        await sql`
          INSERT INTO local_runtime.quarantine (raw, reason)
          SELECT r.raw, r.reason FROM jsonb_to_recordset(${JSON.stringify(records.map((r) => ({ raw: r.raw ?? null, reason: r.reason })))}::jsonb)
            AS r(raw jsonb, reason text)`.execute(db);
      }, unavailable("quarantine records")),
    list: async (limit) => {
      const result = await sql<{ id: string; raw: unknown; reason: string }>`
        SELECT id::text, raw, reason FROM local_runtime.quarantine ORDER BY id LIMIT ${limit}`.execute(db);
      return result.rows;
    },
    remove: async (ids) => {
      if (ids.length > 0) await sql`DELETE FROM local_runtime.quarantine WHERE id = ANY(${[...ids]}::bigint[])`.execute(db);
    },
    size: async () => {
      const result = await sql<{ n: number }>`SELECT count(*)::int AS n FROM local_runtime.quarantine`.execute(db);
      return result.rows[0]?.n ?? 0;
    },
  },
});
