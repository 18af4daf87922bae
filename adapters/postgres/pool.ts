import { Kysely, PostgresDialect } from "kysely";
import { Pool, type PoolConfig, types } from "pg";
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

export interface PoolOptions {
  readonly connectionString?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  readonly ssl?: PoolConfig["ssl"];
  /** Small by default: on Lambda each warm container holds its own pool. */
  readonly max?: number;
  readonly applicationName?: string;
}

export const createPool = (options: PoolOptions): Pool =>
  new Pool({
    ...options,
    max: options.max ?? 2,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: options.applicationName ?? "cqrs-outbox",
    types: typeParsers,
  });

export const createDb = (pool: Pool): Kysely<Database> =>
  new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
