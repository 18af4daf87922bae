import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import { Redis } from "ioredis";
import { createMemoryQuarantine, type MemoryQuarantine } from "../adapters/cdc/memory-quarantine";
import { createOutboxJanitor } from "../adapters/postgres/outbox-janitor.kysely";
import { createDb, createPool } from "../adapters/postgres/pool";
import { createClientViewStore } from "../adapters/redis/client-view-store.redis";
import { type Credentials, makeAuthorizer } from "../handlers/authorizer";
import { makeEnrichOutboxHandler } from "../handlers/enrich-outbox";
import { makeGetClientHandler } from "../handlers/get-client";
import { migrateAndSeed } from "../handlers/migrate";
import { makePlaceOrderHandler, placeOrderDeps } from "../handlers/place-order";
import { makeProjectClientViewHandler } from "../handlers/project-client-view";
import { makePurgeOutboxHandler } from "../handlers/purge-outbox";
import { reprojectAll } from "../handlers/reproject";
import { startEmbeddedPostgres } from "./embedded-postgres";
import { startGateway } from "./gateway";
import { startLogTailer } from "./log-tailer";
import { LocalPipe } from "./pipe";
import { LocalQueue } from "./queue";
import { startRedisServer } from "./redis-server";
import { LocalTopic } from "./topic";

export interface LocalRuntimeOptions {
  /** An existing PostgreSQL database (wal_level=logical); embedded PostgreSQL 16 when absent. */
  readonly databaseUrl?: string;
  /** An existing Redis; a fresh `redis-server` when absent. */
  readonly redisUrl?: string;
  /** Prefix of every Redis key (to share one Redis between runtimes, as the tests do). */
  readonly redisKeyPrefix?: string;
  /** Where embedded PostgreSQL keeps its data between runs. */
  readonly dataDir: string;
  readonly host?: string;
  readonly port?: number;
  readonly credentials?: Credentials;
  /** How long a failed message waits before its next delivery. */
  readonly retryDelayMs?: number;
  readonly log?: (message: string) => void;
}

export interface LocalRuntime {
  readonly url: string;
  readonly credentials: Credentials;
  readonly databaseUrl: string;
  readonly queues: {
    readonly projection: LocalQueue;
    readonly projectionDlq: LocalQueue;
    readonly purge: LocalQueue;
    readonly purgeDlq: LocalQueue;
  };
  readonly quarantine: MemoryQuarantine;
  readonly pipe: LocalPipe;
  stop(): Promise<void>;
}

const lambdaContext = (name: string) =>
  ({
    functionName: name,
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => 30_000,
  }) as never;

/**
 * The whole system on one machine, with the same handlers as on AWS and a real boundary
 * wherever AWS has one: SQL over the wire, the WAL through a replication slot, RESP to
 * Redis, HTTP in front. Stops in reverse order of start.
 */
export const startLocalRuntime = async (options: LocalRuntimeOptions): Promise<LocalRuntime> => {
  const log = options.log ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const step of stops.reverse()) await step().catch((error: unknown) => log(`stop: ${String(error)}`));
  };
  try {
    const postgres = options.databaseUrl
      ? undefined
      : await startEmbeddedPostgres({ dataDir: join(options.dataDir, "postgres") });
    if (postgres) stops.push(() => postgres.stop());
    const databaseUrl = options.databaseUrl ?? (postgres as { url: string }).url;
    const redisServer = options.redisUrl ? undefined : await startRedisServer();
    if (redisServer) stops.push(() => redisServer.stop());
    const redisUrl = options.redisUrl ?? (redisServer as { url: string }).url;

    const db = createDb(createPool({
        connectionString: databaseUrl,
        max: 10,
        applicationName: "cqrs-outbox-local",
        // On Ctrl-C embedded PostgreSQL's own exit hook may stop the server first.
        onIdleError: (error) => stopping || log(`idle PostgreSQL connection lost: ${error.message}`),
      }),);
    stops.push(() => db.destroy());
    const migrated = await migrateAndSeed(db);
    log(`database ready (${migrated.migrations.length} migration(s) applied, seed +${migrated.productsInserted} products +${migrated.clientsInserted} clients)`);

    const redis = new Redis(redisUrl, { keyPrefix: options.redisKeyPrefix ?? "", maxRetriesPerRequest: 2 });
    stops.push(async () => void redis.disconnect());
    const views = createClientViewStore(redis);
    // The read model is rebuildable: a Redis that starts empty gets every view back first.
    const rebuilt = await reprojectAll({ db, views });
    if (rebuilt.clients > 0) log(`read model rebuilt from PostgreSQL: ${rebuilt.clients} client view(s)`);

    const retryDelayMs = options.retryDelayMs ?? 1_000;
    const projectionDlq = new LocalQueue({ name: "projection-dlq", retryDelayMs, maxReceiveCount: Number.POSITIVE_INFINITY });
    const purgeDlq = new LocalQueue({ name: "outbox-purge-dlq", retryDelayMs, maxReceiveCount: Number.POSITIVE_INFINITY });
    const projection = new LocalQueue({ name: "projection", retryDelayMs, maxReceiveCount: 5, deadLetter: projectionDlq, log });
    const purge = new LocalQueue({ name: "outbox-purge", retryDelayMs, maxReceiveCount: 5, deadLetter: purgeDlq, log });
    stops.push(() => projection.stop());
    stops.push(() => purge.stop());
    const topic = new LocalTopic("outbox-events");
    topic.subscribe(projection, { raw: true });
    topic.subscribe(purge, { raw: true });

    const project = makeProjectClientViewHandler(async () => ({ views }));
    projection.consume((event) => project(event, lambdaContext("project-client-view")));
    const purgeOutbox = makePurgeOutboxHandler(async () => ({ janitor: createOutboxJanitor(db) }));
    purge.consume((event) => purgeOutbox(event, lambdaContext("purge-outbox")));

    const quarantine = createMemoryQuarantine();
    const pipe = new LocalPipe({ enrich: makeEnrichOutboxHandler({ quarantine }), topic, log });
    const database = new URL(databaseUrl).pathname.slice(1) || "postgres";
    const tailer = await startLogTailer({
      connectionString: databaseUrl,
      slotName: `cqrs_outbox_${database.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}`,
      publicationName: "cqrs_outbox",
      onTransaction: (records) => pipe.deliver(records),
      log,
    });
    stops.push(() => tailer.stop());

    const credentials = options.credentials ?? { username: "admin", password: randomBytes(12).toString("base64url") };
    const authorizer = makeAuthorizer(async () => credentials);
    const placeOrder = makePlaceOrderHandler(async () => placeOrderDeps(db));
    const getClient = makeGetClientHandler(async () => ({ views }));
    const gateway = await startGateway({
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 3000,
      authorizer,
      routes: [
        { method: "POST", resource: "/orders", handler: (event) => placeOrder(event) },
        { method: "GET", resource: "/clients/{id_client}", handler: (event) => getClient(event) },
      ],
    });
    stops.push(() => new Promise<void>((resolve) => gateway.server.close(() => resolve())));
    gateway.server.closeIdleConnections?.();

    return {
      url: gateway.url,
      credentials,
      databaseUrl,
      queues: { projection, projectionDlq, purge, purgeDlq },
      quarantine,
      pipe,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
};
