import { randomUUID } from "node:crypto";
import * as E from "fp-ts/Either";
import { Kysely, PostgresDialect, sql } from "kysely";
import type { Database } from "../../adapters/postgres/schema";
import { createOutboxJanitor } from "../../adapters/postgres/outbox-janitor.kysely";
import type { Uuid } from "../../domain/outbox-event";
import { migratedDatabase, type TestDatabase } from "../support/database";

let database: TestDatabase;

beforeAll(async () => {
  database = await migratedDatabase(1);
});

afterAll(async () => {
  await database.drop();
});

const insertOutboxRows = async (ids: ReadonlyArray<string>) =>
  sql`INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at)
      SELECT id, 'client', '1', 'OrderPlaced', 1, '{}'::jsonb, now() FROM unnest(${[...ids]}::uuid[]) AS id`.execute(database.db);

describe("the outbox janitor", () => {
  it("deletes a batch's rows in one statement; rows already gone are no failure", async () => {
    const present = [randomUUID(), randomUUID(), randomUUID()] as Uuid[];
    const gone = randomUUID() as Uuid;
    const kept = randomUUID() as Uuid;
    await insertOutboxRows([...present, kept]);
    const janitor = createOutboxJanitor(database.db);
    expect(await janitor.purge([present[0]!, gone, present[1]!, present[2]!])()).toEqual(E.right(3));
    expect(await janitor.purge([present[0]!, gone])()).toEqual(E.right(0));
    const left = await sql<{ id: string }>`SELECT id FROM outbox`.execute(database.db);
    expect(left.rows.map((r) => r.id)).toEqual([kept]);
  });

  it("merges purges made together into one DELETE, and deletes every row of each", async () => {
    const purges = Array.from({ length: 6 }, () => [randomUUID(), randomUUID()] as Uuid[]);
    const kept = randomUUID() as Uuid;
    await sql`DELETE FROM outbox`.execute(database.db);
    await insertOutboxRows([...purges.flat(), kept]);
    const deletes: number[] = [];
    const recording = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) => void (event.query.sql.startsWith("DELETE FROM outbox") && deletes.push((event.query.parameters[0] as unknown[]).length)),
    });
    const janitor = createOutboxJanitor(recording);
    const results = await Promise.all(purges.map((ids) => janitor.purge(ids)()));
    expect(results.every(E.isRight)).toBe(true);
    // Made in one turn of the event loop: all six go in one statement.
    expect(deletes).toEqual([12]);
    const left = await sql<{ id: string }>`SELECT id FROM outbox`.execute(database.db);
    expect(left.rows.map((r) => r.id)).toEqual([kept]);
  });
});
