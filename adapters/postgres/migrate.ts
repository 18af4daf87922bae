import { type Kysely, type MigrationResult, Migrator, NO_MIGRATIONS } from "kysely";
import { migrationProvider } from "./migrations";
import type { Database } from "./schema";

export interface MigrationReport {
  /** Migrations this run applied (or reverted), in order; empty when already up to date. */
  readonly migrations: ReadonlyArray<string>;
}

const migrator = (db: Kysely<Database>): Migrator => new Migrator({ db, provider: migrationProvider });

const report = async (run: Promise<{ error?: unknown; results?: MigrationResult[] }>): Promise<MigrationReport> => {
  const { error, results = [] } = await run;
  if (error !== undefined) {
    const failed = results.find((result) => result.status === "Error")?.migrationName;
    throw new Error(`migration ${failed ?? "run"} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return { migrations: results.filter((r) => r.status === "Success").map((r) => r.migrationName) };
};

/** Idempotent: applies what is missing, under Kysely's lock, so concurrent runs are safe. */
export const migrateToLatest = (db: Kysely<Database>): Promise<MigrationReport> => report(migrator(db).migrateToLatest());

/** Reverts every migration: for tests and for tearing a database down. */
export const migrateToEmpty = (db: Kysely<Database>): Promise<MigrationReport> =>
  report(migrator(db).migrateTo(NO_MIGRATIONS));
