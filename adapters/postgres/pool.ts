import { performance } from "node:perf_hooks";
import { Kysely, PostgresDialect } from "kysely";
import { Client, Pool, type PoolClient, type PoolConfig, types } from "pg";
import type { Database } from "./schema";

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** int8 (bigint, COUNT, SUM of integers) as a number when exact, else a loud failure. */
const parseInt8 = (text: string): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`int8 value ${text} does not fit a safe integer`);
  return value;
};

/**
 * Type parsers set per pool, deliberately: money is `bigint` cents, so int8 must not stay a
 * string nor become a float; `numeric` stays a string (we never store money as numeric, and a
 * float would be a silent rounding).
 */
const typeParsers = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === INT8_OID) return parseInt8;
    if (oid === NUMERIC_OID) return (text: string) => text;
    return types.getTypeParser(oid, format);
  }) as typeof types.getTypeParser,
};

/**
 * How old a connection's plans of the named statements may get. Each is planned once
 * (generic, see `createPool`) and used until then, so a plan made while a table was small
 * (a fresh database, the outbox drained) is made again for the table as it is now.
 */
const PLAN_MAX_AGE_MS = 1_000;

/** Statement text -> its name, for the statements registered with `preparedStatement`. */
const preparedNames = new Map<string, string>();

/**
 * Registers a statement to run as a named prepared statement: each connection parses it
 * once, then only binds (and plans, see `createPool`) and executes it. The text must be
 * constant (parameters as `$n`); run it with `CompiledQuery.raw(text, parameters)` through
 * Kysely as usual. Returns the text.
 */
export const preparedStatement = (name: string, text: string): string => {
  const known = preparedNames.get(text);
  if (known !== undefined && known !== name) throw new Error(`statement already prepared as ${known}`);
  preparedNames.set(text, name);
  return text;
};

/**
 * A pg client that sends the registered statements under their name. Kysely calls
 * `query(text, values)` (no callback, a promise back); every other call goes through as is.
 */
class PreparingClient extends Client {
  /** performance.now() when this connection's cached plans were last dropped (0: never). */
  private plansSince = 0;

  override query(...args: unknown[]): never {
    const [text, values, callback] = args;
    const name = typeof text === "string" && callback === undefined ? preparedNames.get(text) : undefined;
    const call = super.query as (...a: unknown[]) => never;
    if (name === undefined) return call.apply(this, args);
    const now = performance.now();
    if (now - this.plansSince > PLAN_MAX_AGE_MS) {
      // Queued ahead of the statement on this connection, so it is planned afresh. A failure
      // here (the connection is gone) fails the statement behind it too.
      if (this.plansSince !== 0) (call.call(this, "DISCARD PLANS") as unknown as Promise<unknown>).catch(() => undefined);
      this.plansSince = now;
    }
    return call.call(this, { name, text, values });
  }
}

export interface PoolOptions {
  readonly connectionString?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string | (() => Promise<string>);
  readonly database?: string;
  readonly ssl?: PoolConfig["ssl"];
  /** Small by default: on Lambda each warm container holds its own pool. */
  readonly max?: number;
  readonly applicationName?: string;
  /**
   * Told when a pooled connection dies (server restart, failover, forced drop), idle or
   * checked out; once per failure.
   */
  readonly onIdleError?: (error: Error) => void;
}

export const createPool = ({ onIdleError, applicationName, ...options }: PoolOptions): Pool => {
  const pool = new Pool({
    ...options,
    max: options.max ?? 2,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: applicationName ?? "cqrs-outbox",
    // Named statements are planned once (a generic plan) and the plan is dropped after
    // PLAN_MAX_AGE_MS. Planned on every run instead, the order store's read cost 0.5 ms at the
    // server instead of 0.18, most of it planning; cached for ever, a plan made while "order"
    // was empty hash-joined it whole and a lone read took 13 ms once it held 100 000 orders.
    options: "-c plan_cache_mode=force_generic_plan",
    types: typeParsers,
    Client: PreparingClient,
  });
  // A connection that dies is worth a log line, not a crash: the pool drops it and opens a
  // new one on demand, and the query it was running (if any) fails on its own. An 'error'
  // event nobody hears would crash the process, and pg-pool listens only while a client is
  // idle (then it re-emits on the pool): it removes its listener from a checked-out client,
  // so a connection that dies between two queries of a transaction would go unheard. Hence
  // a listener of our own on every client, for its whole life. One death is reported once:
  // an idle client's failure reaches both listeners, and a dying connection often errs
  // twice (the server's "terminating connection" notice, then the socket's end).
  const report = onIdleError ?? ((e: Error) => process.emitWarning(`PostgreSQL connection lost: ${e.message}`));
  const lost = new WeakSet<PoolClient>();
  const reportOnce = (client: PoolClient, error: Error): void => {
    if (lost.has(client)) return;
    lost.add(client);
    report(error);
  };
  pool.on("connect", (client) => client.on("error", (error) => reportOnce(client, error)));
  pool.on("error", (error, client) => reportOnce(client, error));
  return trackConnections(pool);
};

/** The connections of each tracked pool that are open: connected, and not yet closed again. */
const openConnections = new WeakMap<Pool, Set<unknown>>();

/**
 * Keeps count of the pool's open connections by identity, for `endPool`: pg-pool announces a
 * connection once it connected ('connect') and once its socket closed after it was ended
 * ('remove'). A connection that never connected is never announced at all. Every pool from
 * `createPool` is tracked; a plain `pg` pool is once passed here.
 */
export const trackConnections = <P extends Pool>(pool: P): P => {
  if (openConnections.has(pool)) return pool;
  const open = new Set<unknown>();
  pool.on("connect", (client) => open.add(client));
  pool.on("remove", (client) => open.delete(client));
  openConnections.set(pool, open);
  return pool;
};

/** How long `endPool` waits for the sockets after the pool ended, should one never report. */
const CLOSE_WAIT_MS = 5_000;

/**
 * Ends a tracked pool and resolves once each of its connections is closed. `pool.end()` (and
 * so Kysely's `destroy()`) resolves as soon as it has asked its clients to end, before their
 * sockets close: a server stopped right after, as a bench or a test stops its private one,
 * ends those connections itself, and each is then reported as lost.
 */
export const endPool = async (pool: Pool): Promise<void> => {
  const open = openConnections.get(pool);
  if (open === undefined) throw new Error("endPool: the pool is not tracked (make it with createPool, or pass it to trackConnections)");
  await pool.end();
  if (open.size === 0) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pool.off("remove", check);
      resolve();
    };
    // Registered after the tracking listener, so `open` is up to date when this runs.
    const check = () => {
      if (open.size === 0) done();
    };
    const timer = setTimeout(done, CLOSE_WAIT_MS);
    pool.on("remove", check);
  });
};

export const createDb = (pool: Pool): Kysely<Database> =>
  new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
