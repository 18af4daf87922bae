import { readUserSecret, type SecretReader } from "../aws/user-secret";
import type { PoolOptions } from "./pool";

/**
 * Where the command database is, read once at cold start:
 * - `DATABASE_URL` (local runtime, tests);
 * - on AWS, `DB_HOST` (+ `DB_PORT`, `DB_NAME`) and `DB_SECRET_ARN`, a Secrets Manager secret
 *   holding `username` and `password` (the RDS-managed master secret has exactly those). TLS
 *   is verified against the RDS CAs that Lambda ships (`NODE_EXTRA_CA_CERTS`).
 */
export type DatabaseConfig =
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "secret"; readonly host: string; readonly port: number; readonly database: string; readonly secretArn: string };

export const readDatabaseConfig = (env: NodeJS.ProcessEnv): DatabaseConfig => {
  if (env.DATABASE_URL) return { kind: "url", url: env.DATABASE_URL };
  const missing = ["DB_HOST", "DB_SECRET_ARN"].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(`database configuration missing: set DATABASE_URL, or ${missing.join(" and ")} (with optional DB_PORT, DB_NAME)`);
  }
  const port = Number(env.DB_PORT ?? "5432");
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`DB_PORT is not a port: ${env.DB_PORT}`);
  return {
    kind: "secret",
    host: env.DB_HOST as string,
    port,
    database: env.DB_NAME ?? "postgres",
    secretArn: env.DB_SECRET_ARN as string,
  };
};

/** Small by default, as suits Lambda: each warm container holds its own pool. */
export const DEFAULT_POOL_MAX = 2;

/** `DB_POOL_MAX`: connections per pool, a whole number from 1; unset means the default. */
export const readPoolMax = (env: NodeJS.ProcessEnv): number => {
  const raw = env.DB_POOL_MAX;
  if (raw === undefined || raw === "") return DEFAULT_POOL_MAX;
  const max = /^[1-9][0-9]*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(max)) throw new Error(`DB_POOL_MAX is not a whole number of connections from 1: "${raw}"`);
  return max;
};

/** Everything a container needs to open its pool: where the database is, and how many connections. */
export interface DatabaseSettings {
  readonly connection: DatabaseConfig;
  readonly poolMax: number;
}

/** Reads and checks the database settings; a bad one throws, naming every variable that is wrong. */
export const readDatabaseSettings = (env: NodeJS.ProcessEnv): DatabaseSettings => {
  const problems: string[] = [];
  const attempt = <A>(read: () => A): A | undefined => {
    try {
      return read();
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
      return undefined;
    }
  };
  const connection = attempt(() => readDatabaseConfig(env));
  const poolMax = attempt(() => readPoolMax(env));
  if (connection === undefined || poolMax === undefined) throw new Error(`invalid database configuration: ${problems.join("; ")}`);
  return { connection, poolMax };
};

export const poolOptionsFor = async (
  config: DatabaseConfig,
  readSecret: SecretReader,
  max: number,
): Promise<PoolOptions> => {
  if (config.kind === "url") return { connectionString: config.url, max };
  const { username } = await readUserSecret(readSecret, config.secretArn);
  return {
    host: config.host,
    port: config.port,
    database: config.database,
    user: username,
    // Asked for each new connection, so a rotated password is picked up (the reader caches).
    password: async () => (await readUserSecret(readSecret, config.secretArn)).password,
    ssl: { rejectUnauthorized: true },
    max,
  };
};
