import { isLeft } from "fp-ts/Either";
import { isSome } from "fp-ts/Option";
import type { Kysely } from "kysely";
import type { Database } from "../adapters/postgres/schema";
import type { RedisClientViewStore } from "../adapters/redis/client-view-store.redis";
import { reprojectAll } from "../handlers/support/reproject-views";

export interface Rebuild {
  readonly at: string;
  readonly reason: string;
  readonly clients: number;
  readonly durationMs: number;
}

export interface ReadModelGuard {
  /** Checks now; rebuilds when the generation is missing. Resolves when done. */
  check(): Promise<void>;
  generation(): string | null;
  rebuilds(): number;
  lastRebuild(): Rebuild | null;
  stop(): void;
}

/**
 * Detects a lost read model instead of rebuilding it just in case. Every rebuild writes a
 * generation key last; a Redis that lost its data (FLUSHALL, a restart without
 * persistence, a node replacement) has none, and the apply script then refuses every event
 * (retried, never acknowledged) while readers get 503. The guard looks every `intervalMs`
 * and rebuilds the views exactly from PostgreSQL when the key is gone.
 */
export const startReadModelGuard = (deps: {
  readonly db: Kysely<Database>;
  readonly views: RedisClientViewStore;
  readonly intervalMs: number;
  readonly log: (message: string) => void;
}): ReadModelGuard => {
  let generation: string | null = null;
  let rebuilds = 0;
  let last: Rebuild | null = null;
  let running: Promise<void> | undefined;
  let stopped = false;

  const checkOnce = async (): Promise<void> => {
    const found = await deps.views.generation()();
    if (isLeft(found)) return; // Redis is away; the health check reports it.
    if (isSome(found.right)) {
      generation = found.right.value;
      return;
    }
    const reason = generation === null ? "no read-model generation in Redis (first start, or Redis lost its data)" : "the read-model generation disappeared (Redis lost its data)";
    deps.log(`read model lost: ${reason}; rebuilding from PostgreSQL`);
    const started = Date.now();
    const summary = await reprojectAll({ db: deps.db, views: deps.views });
    rebuilds += 1;
    generation = summary.generation;
    last = { at: new Date().toISOString(), reason, clients: summary.clients, durationMs: Date.now() - started };
    deps.log(`read model rebuilt: ${summary.clients} client view(s) in ${last.durationMs} ms`);
  };

  const check = (): Promise<void> => {
    running ??= checkOnce()
      .catch((error: unknown) => deps.log(`read model check failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => (running = undefined));
    return running;
  };

  const timer = setInterval(() => {
    if (!stopped) void check();
  }, deps.intervalMs);
  timer.unref();

  return {
    check,
    generation: () => generation,
    rebuilds: () => rebuilds,
    lastRebuild: () => last,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
};
