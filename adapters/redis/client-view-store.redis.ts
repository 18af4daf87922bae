import * as O from "fp-ts/Option";
import * as TE from "fp-ts/TaskEither";
import type { Redis, Result } from "ioredis";
import { type ClientView, contributionOf } from "../../domain/client-view";
import { REDELIVERY_WINDOW_SECONDS } from "../../domain/contracts";
import { type DomainError, readModelUnavailable, unavailable } from "../../domain/errors";
import { cents } from "../../domain/money";
import type { ClientId } from "../../domain/order";
import type { OrderPlaced } from "../../domain/outbox-event";
import type { ApplyOutcome, ClientViewStore } from "../../domain/ports";

/** As long as any redelivery window: SQS keeps a message at most 14 days (domain/contracts.ts). */
export const APPLIED_MARKER_TTL_SECONDS = REDELIVERY_WINDOW_SECONDS;

/**
 * Keys share the client id as a hash tag (`{42}`), so a client's view and its markers live
 * in one slot. The generation key (below) is in another one.
 */
export const viewKey = (clientId: ClientId): string => `client:{${clientId}}`;
export const markerKey = (clientId: ClientId, eventId: string): string => `applied:{${clientId}}:${eventId.toLowerCase()}`;

/**
 * The read model's generation, written only by a rebuild (`reproject`): while it exists the
 * views are complete up to the events applied since; when it is missing, Redis was wiped (a
 * restart without persistence, a failover to an empty replica) or a rebuild is running, and
 * the views must be neither read nor updated. A plain key, without a hash tag, so it lives in
 * another slot than the views: the scripts below touch keys of two slots, which only a
 * non-cluster Redis allows. ElastiCache runs here in non-cluster mode (one shard with
 * replicas); moving to cluster mode would need a generation per slot, e.g. `readmodel:{42}`.
 */
export const GENERATION_KEY = "readmodel:generation";

/** The prefix of the error reply the scripts give when the generation key is missing. */
const NO_GENERATION = "NOGENERATION";

/**
 * Applies one OrderPlaced event, atomically on the server (a script runs alone). Timeline
 * of the race this closes, which the original sample loses:
 *   A: GET total=10          B: GET total=10
 *   A: SET total=10+5        B: SET total=10+7   -> 17, A's 5 is lost
 * Here the read and the write are one step, and the marker makes a redelivery a no-op.
 * Redis does not roll a failed script back, so every check happens before the first write
 * and the marker is written last: a script that fails leaves nothing, and the redelivery
 * applies the event in full.
 *
 * The rule is the domain reducer's (`apply` in domain/client-view.ts, the reference its
 * parity test checks this script against): the arguments are the event's contribution as the
 * domain computes it (`contributionOf`: the amount to add, the purchase instant, the profile
 * and its version), and the script merges them as the domain's `merge` does: HINCRBY for the
 * sums, a max for last_purchase, and last-writer-wins for the profile by (occurred_at_ms,
 * event_id), compared numerically and then bytewise.
 *
 * Without a generation (KEYS[3]) the script writes nothing, not even the marker: the views
 * are gone or being rebuilt, and an event applied now would be lost (a wipe) or overwritten
 * by the rebuild's page (see `reprojectAll`). The caller fails the message, so it is retried
 * once the rebuild has set a generation again.
 *
 * KEYS[1] view hash, KEYS[2] marker, KEYS[3] generation
 * ARGV: client_id, total_cents, last_purchase, name, email, occurred_at_ms, event_id, ttl
 */
const APPLY_SCRIPT = `
if redis.call('EXISTS', KEYS[3]) == 0 then
  return redis.error_reply('${NO_GENERATION} read model generation missing')
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
local v = redis.call('HMGET', KEYS[1], 'total_cents', 'order_count', 'last_purchase', 'profile_at_ms', 'profile_event_id')
local function integer_or_absent(value)
  return value == false or string.match(value, '^%-?%d+$') ~= nil
end
if not (integer_or_absent(v[1]) and integer_or_absent(v[2]) and integer_or_absent(v[3]) and integer_or_absent(v[4])) then
  return redis.error_reply('ERR corrupt client view ' .. KEYS[1])
end
redis.call('HINCRBY', KEYS[1], 'total_cents', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'order_count', 1)
if not v[3] or tonumber(ARGV[3]) > tonumber(v[3]) then
  redis.call('HSET', KEYS[1], 'last_purchase', ARGV[3])
end
local candidate = tonumber(ARGV[6])
local at = v[4] and tonumber(v[4])
if not at or not v[5] or candidate > at or (candidate == at and ARGV[7] > v[5]) then
  redis.call('HSET', KEYS[1], 'client_id', ARGV[1], 'name', ARGV[4], 'email', ARGV[5],
    'profile_at_ms', ARGV[6], 'profile_event_id', ARGV[7])
end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[8])
return 1
`;

/**
 * Replaces a view whole (used by `reproject`): readers see the old view or the new one,
 * never a half-written hash. Marks the events it includes as applied.
 *
 * KEYS[1] view hash, KEYS[2..] markers
 * ARGV: ttl, then the hash's field/value pairs
 */
const REPLACE_SCRIPT = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], '1', 'EX', ARGV[1])
end
return #KEYS - 1
`;

/**
 * Reads a view in the same step as the generation check, so a reader never gets a view of a
 * read model that a wipe or a rebuild has since invalidated.
 *
 * KEYS[1] view hash, KEYS[2] generation
 */
const GET_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 0 then
  return redis.error_reply('${NO_GENERATION} read model generation missing')
end
return redis.call('HGETALL', KEYS[1])
`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    applyClientEvent(
      view: string,
      marker: string,
      generation: string,
      ...args: ReadonlyArray<string | number>
    ): Result<number, Context>;
    getClientView(view: string, generation: string): Result<string[], Context>;
    replaceClientView(numberOfKeys: number, ...keysAndArgs: ReadonlyArray<string | number>): Result<number, Context>;
  }
}

/** Registers the scripts on a connection (ioredis sends EVALSHA and falls back to EVAL). */
const defineScripts = (redis: Redis): Redis => {
  if (typeof redis.applyClientEvent !== "function") {
    redis.defineCommand("applyClientEvent", { numberOfKeys: 3, lua: APPLY_SCRIPT });
    redis.defineCommand("getClientView", { numberOfKeys: 2, lua: GET_SCRIPT });
    redis.defineCommand("replaceClientView", { lua: REPLACE_SCRIPT });
  }
  return redis;
};

/** HGETALL's reply inside a script is the flat field, value, field, value... list. */
const pairsToHash = (flat: ReadonlyArray<string>): Record<string, string> => {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return hash;
};

const isNoGeneration = (cause: unknown): boolean =>
  cause instanceof Error && cause.message.startsWith(NO_GENERATION);

/** A script's refusal for want of a generation is `ReadModelUnavailable`; anything else is `Unavailable`. */
const scriptFailure = (operation: string) => (cause: unknown): DomainError =>
  isNoGeneration(cause) ? readModelUnavailable() : unavailable(operation)(cause);

const parseView = (clientId: ClientId, hash: Record<string, string>): O.Option<ClientView> => {
  if (hash.total_cents === undefined) return O.none;
  return O.some({
    clientId,
    name: hash.name ?? "",
    email: hash.email ?? "",
    totalCents: cents(Number(hash.total_cents)),
    lastPurchase: Number(hash.last_purchase ?? 0),
    orderCount: Number(hash.order_count ?? 0),
    profileVersion: { occurredAtMs: Number(hash.profile_at_ms ?? 0), eventId: hash.profile_event_id ?? "" },
  });
};

const viewToHash = (view: ClientView): ReadonlyArray<string | number> => [
  "client_id", view.clientId,
  "name", view.name,
  "email", view.email,
  "total_cents", view.totalCents,
  "order_count", view.orderCount,
  "last_purchase", view.lastPurchase,
  "profile_at_ms", view.profileVersion.occurredAtMs,
  "profile_event_id", view.profileVersion.eventId,
];

export interface RedisClientViewStore extends ClientViewStore {
  /** Replaces each view whole and marks the given events applied (for `reproject`). */
  readonly replace: (
    views: ReadonlyArray<{ readonly view: ClientView; readonly eventIds: ReadonlyArray<string> }>,
  ) => TE.TaskEither<DomainError, number>;
  /** The read model's generation; none when Redis was wiped or a rebuild is running. */
  readonly generation: () => TE.TaskEither<DomainError, O.Option<string>>;
  /** Deletes the generation, so appliers and readers refuse until `completeRebuild`. */
  readonly beginRebuild: () => TE.TaskEither<DomainError, void>;
  /** Sets the generation (no TTL): the views are whole again. */
  readonly completeRebuild: (generation: string) => TE.TaskEither<DomainError, void>;
}

export const createClientViewStore = (connection: Redis): RedisClientViewStore => {
  const redis = defineScripts(connection);
  return {
    apply: (event: OrderPlaced) =>
      TE.tryCatch(async (): Promise<ApplyOutcome> => {
        const contribution = contributionOf(event);
        const applied = await redis.applyClientEvent(
          viewKey(contribution.clientId),
          markerKey(contribution.clientId, event.eventId),
          GENERATION_KEY,
          contribution.clientId,
          contribution.totalCents,
          contribution.lastPurchase,
          contribution.name,
          contribution.email,
          contribution.profileVersion.occurredAtMs,
          contribution.profileVersion.eventId,
          APPLIED_MARKER_TTL_SECONDS,
        );
        return applied === 1 ? "applied" : "duplicate";
      }, scriptFailure("apply event to client view")),
    get: (clientId) =>
      TE.tryCatch(
        async () => parseView(clientId, pairsToHash(await redis.getClientView(viewKey(clientId), GENERATION_KEY))),
        scriptFailure("read client view"),
      ),
    replace: (views) =>
      TE.tryCatch(async () => {
        const pipeline = redis.pipeline();
        for (const { view, eventIds } of views) {
          const keys = [viewKey(view.clientId), ...eventIds.map((id) => markerKey(view.clientId, id))];
          pipeline.replaceClientView(keys.length, ...keys, APPLIED_MARKER_TTL_SECONDS, ...viewToHash(view));
        }
        const results = (await pipeline.exec()) ?? [];
        const failure = results.find(([error]) => error !== null);
        if (failure) throw failure[0];
        return views.length;
      }, unavailable("replace client views")),
    generation: () =>
      TE.tryCatch(async () => O.fromNullable(await redis.get(GENERATION_KEY)), unavailable("read read-model generation")),
    beginRebuild: () =>
      TE.tryCatch(async () => void (await redis.del(GENERATION_KEY)), unavailable("delete read-model generation")),
    completeRebuild: (generation) =>
      TE.tryCatch(async () => void (await redis.set(GENERATION_KEY, generation)), unavailable("set read-model generation")),
  };
};
