import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { isRight } from "fp-ts/Either";
import { isSome } from "fp-ts/Option";
import { sql } from "kysely";
import { AUTHORIZER_TTL_SECONDS, MAX_RECEIVE_COUNT } from "../domain/contracts";
import { createOutboxJanitor } from "../adapters/postgres/outbox-janitor.kysely";
import { createDb, createPool } from "../adapters/postgres/pool";
import { createClientViewStore } from "../adapters/redis/client-view-store.redis";
import { connectRedis } from "../adapters/redis/connection";
import type { Credentials } from "../handlers/authorizer";
import { makeEnrichOutboxHandler } from "../handlers/enrich-outbox";
import { migrateAndSeed } from "../handlers/migrate";
import { makeProjectClientViewHandler } from "../handlers/project-client-view";
import { makePurgeOutboxHandler } from "../handlers/purge-outbox";
import { failureReasonsOf } from "../handlers/support/sqs-message";
import { Ticket } from "./acknowledgement";
import { createDeadLetterStore, ensureRuntimeSchema } from "./dead-letter-store";
import { withTimeout } from "./deadline";
import { startEmbeddedPostgres } from "./embedded-postgres";
import { startApiThread } from "./api-thread";
import { startLogTailer } from "./log-tailer";
import { LocalPipe, type StreamRecord } from "./pipe";
import { LocalQueue, type LocalBatchResponse } from "./queue";
import { startReadModelGuard } from "./read-model-guard";
import { startRedisServer } from "./redis-server";
import { acquireRuntimeLock } from "./runtime-lock";
import { LocalTopic } from "./topic";

export interface LocalRuntimeOptions {
  /** An existing PostgreSQL database (wal_level=logical); embedded PostgreSQL 16 when absent. */
  readonly databaseUrl?: string;
  /** An existing Redis; a `redis-server` keeping its data in `dataDir` when absent. */
  readonly redisUrl?: string;
  /** Prefix of every Redis key (to share one Redis between runtimes, as the tests do). */
  readonly redisKeyPrefix?: string;
  /** Where the runtime keeps its lock, and embedded PostgreSQL and Redis their data, between runs. */
  readonly dataDir: string;
  readonly host?: string;
  readonly port?: number;
  readonly credentials?: Credentials;
  /** First retry delay of a failed message; it doubles on each failure, up to `maxRetryDelayMs`. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** How often the log tailer sends the server a status update (at most 10 s). */
  readonly statusIntervalMs?: number;
  /** How often the read model's generation is checked. */
  readonly readModelCheckMs?: number;
  readonly log?: (message: string) => void;
}

export type QueueName = "projection" | "outbox-purge";
export type RedriveSource = QueueName | "quarantine";

export interface Health {
  readonly healthy: boolean;
  readonly down: ReadonlyArray<string>;
  readonly slot: {
    readonly name: string;
    readonly streaming: boolean;
    readonly confirmedLsn: string | null;
    readonly currentWalLsn: string | null;
    readonly lagBytes: number | null;
    readonly lagSeconds: number;
    readonly retainedWalBytes: number | null;
    readonly pendingTransactions: number;
    readonly reconnects: number;
  };
  readonly queues: Readonly<Record<QueueName, { readonly depth: number; readonly inFlight: number; readonly deadLetters: number | null }>>;
  readonly quarantine: { readonly size: number | null };
  readonly readModel: {
    readonly generation: string | null;
    readonly rebuilds: number;
    readonly lastRebuild: { readonly at: string; readonly reason: string; readonly clients: number; readonly durationMs: number } | null;
  };
  readonly startedAt: string;
}

export interface LocalRuntime {
  readonly url: string;
  readonly healthUrl: string;
  readonly credentials: Credentials;
  readonly databaseUrl: string;
  readonly queues: Readonly<Record<QueueName, LocalQueue>>;
  readonly topic: LocalTopic;
  readonly pipe: LocalPipe;
  health(): Promise<Health>;
  /** Sends a dead-letter queue's (or the quarantine's) messages back; resolves with how many. */
  redrive(source: RedriveSource): Promise<number>;
  stop(): Promise<void>;
}

const notOnLambda = (what: string) => () => {
  throw new Error(`${what} is a callback-style Lambda API; the handlers return promises`);
};

/** What Lambda passes a consumer: the handlers read the request id and the remaining time. */
const lambdaContext = (name: string): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName: name,
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
  memoryLimitInMB: "256",
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${name}`,
  logStreamName: "local",
  getRemainingTimeInMillis: () => 30_000,
  done: notOnLambda("context.done"),
  fail: notOnLambda("context.fail"),
  succeed: notOnLambda("context.succeed"),
});

const HEALTH_PROBE_MS = 250;

/** A quarantined Kinesis record as the pipe takes it again (the pipe wraps it anew). */
const streamRecordOf = (raw: unknown): StreamRecord => {
  const { data, partitionKey } = (raw ?? {}) as { data?: unknown; partitionKey?: unknown };
  const text = typeof data === "string" ? Buffer.from(data, "base64").toString("utf8") : "";
  let decoded: unknown = text;
  try {
    decoded = JSON.parse(text);
  } catch {
    // Not JSON: passed on as the text it is, and the enrichment quarantines it again with its reason.
  }
  return { data: decoded, partitionKey: String(partitionKey ?? "") };
};

/**
 * Batches each queue's consumer may have in flight at once: a backlog is worked off by
 * several invocations, as SQS scales its Lambda pollers, instead of one round trip at a time.
 */
const QUEUE_CONCURRENCY = 4;

/**
 * The purge queue's batches share DELETEs (PURGE_LINGER_MS): more of them in flight make
 * fewer, larger statements, and keep up with a backlog although each waits a little.
 */
const PURGE_CONCURRENCY = 16;
const PURGE_LINGER_MS = 5;

/** Downstream backlog past which the log tailer stops reading (the slot keeps the rest). */
const SATURATED_MESSAGES = 20_000;
const SATURATED_TRANSACTIONS = 2_000;

/**
 * The whole system on one machine, with the same handlers as on AWS and a real boundary
 * wherever AWS has one: SQL over the wire, the WAL through a replication slot, RESP to
 * Redis, HTTP in front. Stops in reverse order of start.
 *
 * Delivery: at least once, with an exactly-once effect. The replication slot is the only
 * durable log, so it is acknowledged only past transactions whose every record was
 * projected and purged, or kept in the durable dead-letter store.
 */
export const startLocalRuntime = async (options: LocalRuntimeOptions): Promise<LocalRuntime> => {
  const log = options.log ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  let stopped: Promise<void> | undefined;
  /** Runs the steps once, last started first; every call waits for that one run. */
  const stop = (): Promise<void> => {
    stopping = true;
    stopped ??= (async () => {
      for (const step of [...stops].reverse()) await step().catch((error: unknown) => log(`stop: ${String(error)}`));
    })();
    return stopped;
  };
  const startedAt = new Date().toISOString();
  try {
    const lock = acquireRuntimeLock(options.dataDir);
    stops.push(async () => lock.release());
    // The API's thread is told to stop first but waited for last (see below).
    let apiStopped: Promise<void> = Promise.resolve();
    stops.push(() => apiStopped);
    if (lock.previousOwnerDied) log("the previous runtime in this data folder did not stop cleanly: reclaiming its servers");

    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      const postgres = await startEmbeddedPostgres({ dataDir: join(options.dataDir, "postgres"), reclaimOrphan: lock.previousOwnerDied });
      stops.push(() => postgres.stop());
      databaseUrl = postgres.url;
    }
    let redisUrl = options.redisUrl;
    if (!redisUrl) {
      const redisServer = await startRedisServer({ dataDir: join(options.dataDir, "redis"), reclaimOrphan: lock.previousOwnerDied });
      stops.push(() => redisServer.stop());
      redisUrl = redisServer.url;
    }

    const db = createDb(
      createPool({
        connectionString: databaseUrl,
        max: 10,
        applicationName: "cqrs-outbox-local",
        // A server restart or failover ends every connection; the pool opens new ones.
        onIdleError: (error) => stopping || log(`PostgreSQL connection lost: ${error.message}`),
      }),
    );
    stops.push(() => db.destroy());
    const migrated = await migrateAndSeed(db);
    await ensureRuntimeSchema(db);
    log(`database ready (${migrated.migrations.length} migration(s) applied, seed +${migrated.productsInserted} products +${migrated.clientsInserted} clients)`);

    // The Lambdas' connection (command timeout, auto-pipelining): a paused or hung Redis fails
    // commands fast instead of queueing them, and the queues retry.
    const redis = await connectRedis({ kind: "url", url: redisUrl, keyPrefix: options.redisKeyPrefix });
    let redisErrors = 0;
    redis.on("error", (error: Error) => {
      redisErrors += 1;
      if (!stopping && (redisErrors === 1 || redisErrors % 50 === 0)) log(`Redis: ${error.message} (${redisErrors} error(s) so far)`);
    });
    redis.on("ready", () => {
      if (redisErrors > 0) log("Redis is back");
      redisErrors = 0;
    });
    stops.push(async () => void redis.disconnect());
    const views = createClientViewStore(redis);

    const postgresUp = (timeoutMs = 2_000) =>
      withTimeout(sql`SELECT 1`.execute(db), timeoutMs).then(
        () => true,
        () => false,
      );
    const redisUp = (timeoutMs = 1_000) =>
      withTimeout(redis.ping(), timeoutMs).then(
        () => true,
        () => false,
      );

    const guard = startReadModelGuard({ db, views, intervalMs: options.readModelCheckMs ?? 1_000, log });
    stops.push(async () => guard.stop());
    // A Redis that kept its data (or an external one) keeps its views; one without a generation is rebuilt.
    await guard.check();

    const store = createDeadLetterStore(db);
    const retryDelayMs = options.retryDelayMs ?? 200;
    const maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    const queue = (name: QueueName, dependenciesUp: () => Promise<boolean>, concurrency = QUEUE_CONCURRENCY) =>
      new LocalQueue({
        name,
        retryDelayMs,
        maxRetryDelayMs,
        maxReceiveCount: MAX_RECEIVE_COUNT,
        concurrency,
        deadLetters: store.put,
        dependenciesUp,
        log,
      });
    /** Read live: between a wipe and the guard's next look, a cached "present" would count the refusals. */
    const generationPresent = async (): Promise<boolean> => {
      const found = await withTimeout(views.generation()(), 1_000).catch(() => undefined);
      const present = found !== undefined && isRight(found) && isSome(found.right);
      if (!present) void guard.check();
      return present;
    };
    const projection = queue("projection", async () => (await redisUp()) && (await generationPresent()) && (await postgresUpOrLetGo()));
    // Set once the tailer exists: a database found down lets go of the replication connection.
    let onPostgresDown: () => void = () => undefined;
    const postgresUpOrLetGo = async () => {
      const up = await postgresUp();
      if (!up) onPostgresDown();
      return up;
    };
    const purge = queue("outbox-purge", postgresUpOrLetGo, PURGE_CONCURRENCY);
    const topic = new LocalTopic("outbox-events");
    topic.subscribe(projection, { raw: true });
    topic.subscribe(purge, { raw: true });

    /** Runs a batch handler and passes on why each failed message failed. */
    const consumer =
      (name: string, handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>) =>
      async (event: SQSEvent): Promise<LocalBatchResponse> => {
        const response = await handler(event, lambdaContext(name));
        return { ...response, reasons: failureReasonsOf(response) };
      };
    const project = makeProjectClientViewHandler(async () => ({ views }));
    projection.consume(consumer("project-client-view", project));
    const purgeOutbox = makePurgeOutboxHandler(async () => ({ janitor: createOutboxJanitor(db, { lingerMs: PURGE_LINGER_MS }) }));
    // The log tailer hands a transaction on at its commit record, when its rows may not be
    // visible yet (see local/log-tailer.ts): the purge, which deletes them, waits until they
    // are. Only the tailer feeds the queue; a batch before it exists fails, and is retried.
    let visibleInSql = (): Promise<void> => Promise.reject(new Error("the log tailer has not started"));
    const purgeConsumer = consumer("purge-outbox", purgeOutbox);
    // A batch whose rows are not visible yet fails as a whole when the tailer stops first:
    // unsettled, its transactions replay at the next start.
    purge.consume(async (event) => {
      await visibleInSql();
      return purgeConsumer(event);
    });

    const pipe = new LocalPipe({ enrich: makeEnrichOutboxHandler({ quarantine: store.quarantine }), topic, retryDelayMs, log });

    const database = new URL(databaseUrl).pathname.slice(1) || "postgres";
    const slotName = `cqrs_outbox_${database.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}`;
    const tailer = await startLogTailer({
      connectionString: databaseUrl,
      slotName,
      publicationName: "cqrs_outbox",
      onTransaction: (records, ticket) => pipe.enqueue(records, ticket),
      saturated: () => pipe.backlog() > SATURATED_TRANSACTIONS || projection.depth() + purge.depth() > SATURATED_MESSAGES,
      statusIntervalMs: Math.min(options.statusIntervalMs ?? 5_000, 10_000),
      log,
    });
    onPostgresDown = () => tailer.interrupt("PostgreSQL is not answering");
    visibleInSql = () => tailer.visible();
    // Stopping: the queues may finish their batches first, then the tailer confirms what is done.
    stops.push(() => tailer.stop());
    stops.push(async () => {
      pipe.stop();
      await Promise.all([projection.stop(), purge.stop()]);
    });

    /** Answers within about half a second whatever hangs: a dependency that does not answer by then is down. */
    const health = async (): Promise<Health> => {
      const [pgUp, rUp] = await Promise.all([postgresUp(HEALTH_PROBE_MS), redisUp(HEALTH_PROBE_MS)]);
      const slot = pgUp
        ? await withTimeout(
            sql<{ confirmed: string | null; current: string; lag: number | null; retained: number | null }>`
              SELECT confirmed_flush_lsn::text AS confirmed, pg_current_wal_lsn()::text AS current,
                     (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint AS lag,
                     (pg_current_wal_lsn() - restart_lsn)::bigint AS retained
                FROM pg_replication_slots WHERE slot_name = ${slotName}`.execute(db),
            HEALTH_PROBE_MS,
          ).then((r) => r.rows[0], () => undefined)
        : undefined;
      const [deadLetters, quarantined] = pgUp
        ? await Promise.all([
            withTimeout(store.counts(), HEALTH_PROBE_MS).catch(() => undefined),
            withTimeout(store.quarantine.size(), HEALTH_PROBE_MS).catch(() => null),
          ])
        : [undefined, null];
      const status = tailer.status();
      const down = [
        ...(pgUp ? [] : ["postgres"]),
        ...(rUp ? [] : ["redis"]),
        ...(status.streaming ? [] : ["replication"]),
        ...(rUp && guard.generation() === null ? ["read-model"] : []),
      ];
      const queueHealth = (q: LocalQueue) => ({
        depth: q.depth(),
        inFlight: q.inFlight(),
        deadLetters: deadLetters === undefined ? null : (deadLetters[q.name] ?? 0),
      });
      return {
        healthy: down.length === 0,
        down,
        slot: {
          name: slotName,
          streaming: status.streaming,
          confirmedLsn: slot?.confirmed ?? status.confirmedLsn,
          currentWalLsn: slot?.current ?? null,
          lagBytes: slot?.lag ?? null,
          lagSeconds: status.lagMs / 1000,
          retainedWalBytes: slot?.retained ?? null,
          pendingTransactions: status.pendingTransactions,
          reconnects: status.reconnects,
        },
        queues: { projection: queueHealth(projection), "outbox-purge": queueHealth(purge) },
        quarantine: { size: quarantined },
        readModel: { generation: guard.generation(), rebuilds: guard.rebuilds(), lastRebuild: guard.lastRebuild() },
        startedAt,
      };
    };

    const queues = { projection, "outbox-purge": purge } as const;
    const redrive = async (source: RedriveSource): Promise<number> => {
      if (source === "quarantine") {
        const records = await store.quarantine.list(10_000);
        if (records.length === 0) return 0;
        // Back through the enrichment: what still cannot be decoded is quarantined anew.
        const ticket = new Ticket();
        pipe.enqueue(records.map((r) => streamRecordOf(r.raw)), ticket);
        await ticket.whenDone();
        await store.quarantine.remove(records.map((r) => r.id));
        return records.length;
      }
      const letters = await store.list(source, 10_000);
      for (const letter of letters) {
        // Handled again: the entry goes; failed again: the store updates this entry.
        queues[source].send(letter.body, letter.attributes, {
          deadLetterId: letter.id,
          settle: () => void store.remove(letter.id).catch((error: unknown) => log(`redrive: could not remove dead letter ${letter.id}: ${String(error)}`)),
        });
      }
      log(`redrive: ${letters.length} message(s) sent back to ${source}`);
      return letters.length;
    };

    const credentials = options.credentials ?? { username: "admin", password: randomBytes(12).toString("base64url") };
    const api = await startApiThread({
      databaseUrl,
      redisUrl,
      redisKeyPrefix: options.redisKeyPrefix,
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 3000,
      credentials,
      authorizerTtlMs: AUTHORIZER_TTL_SECONDS * 1000,
      log,
      localRoutes: [
        {
          method: "GET",
          path: "health",
          authenticated: false,
          handler: async () => {
            const report = await health();
            return { status: report.healthy ? 200 : 503, body: report };
          },
        },
        {
          method: "POST",
          path: "redrive/{source}",
          authenticated: true,
          handler: async ({ source }) => {
            if (source !== "projection" && source !== "outbox-purge" && source !== "quarantine") {
              return { status: 404, body: { message: `no dead letters named ${source}: use projection, outbox-purge or quarantine` } };
            }
            return { status: 200, body: { source, redriven: await redrive(source) } };
          },
        },
      ],
    });
    // Told first, so it takes no new requests; not waited for before the tailer stops: a
    // Ctrl-C reaches embedded PostgreSQL too (one process group), and the tailer should
    // confirm what is done before the server goes.
    stops.push(async () => {
      apiStopped = api.stop();
    });
    const healthUrl = `${api.url}/_local/health`;
    lock.publish({ url: api.url, health: healthUrl, credentials });

    return {
      url: api.url,
      healthUrl,
      credentials,
      databaseUrl,
      queues,
      topic,
      pipe,
      health,
      redrive,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
};
