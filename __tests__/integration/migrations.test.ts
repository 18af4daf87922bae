import { sql } from "kysely";
import { migrateToEmpty, migrateToLatest } from "../../adapters/postgres/migrate";
import { MIGRATIONS } from "../../adapters/postgres/migrations";
import { handler as migrateHandler, migrateAndSeed } from "../../handlers/migrate";
import { freshDatabase, type TestDatabase } from "../support/database";

const TABLES = ["client", "order", "order_item", "outbox", "product"];

const tablesOf = async (database: TestDatabase): Promise<string[]> => {
  const result = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%' ORDER BY table_name`.execute(database.db);
  return result.rows.map((row) => row.table_name);
};

describe("migrations", () => {
  let database: TestDatabase;
  beforeEach(async () => (database = await freshDatabase(2)));
  afterEach(async () => database.drop());

  it("go up, down and up again on an empty database", async () => {
    expect(await tablesOf(database)).toEqual([]);
    expect((await migrateToLatest(database.db)).migrations).toEqual(Object.keys(MIGRATIONS));
    expect(await tablesOf(database)).toEqual(TABLES);
    expect((await migrateToEmpty(database.db)).migrations).toEqual(Object.keys(MIGRATIONS).reverse());
    expect(await tablesOf(database)).toEqual([]);
    expect((await migrateToLatest(database.db)).migrations).toEqual(Object.keys(MIGRATIONS));
    expect(await tablesOf(database)).toEqual(TABLES);
  });

  it("and the seed change nothing when run again", async () => {
    const first = await migrateAndSeed(database.db);
    expect(first).toEqual({ migrations: Object.keys(MIGRATIONS), productsInserted: 3, clientsInserted: 3 });
    const counts = await database.counts();
    const second = await migrateAndSeed(database.db);
    expect(second).toEqual({ migrations: [], productsInserted: 0, clientsInserted: 0 });
    expect(await database.counts()).toEqual(counts);
    const products = await database.db.selectFrom("product").selectAll().orderBy("id").execute();
    expect(products).toEqual([
      { id: 1, name: "Computer", price_cents: 150_000 },
      { id: 2, name: "Phone", price_cents: 50_000 },
      { id: 3, name: "TV", price_cents: 100_000 },
    ]);
  });

  it("run from the migrate Lambda handler, twice, with DATABASE_URL", async () => {
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = database.url;
    try {
      const first = await migrateHandler();
      const second = await migrateHandler();
      expect(first.migrations).toEqual(Object.keys(MIGRATIONS));
      expect(second).toEqual({ migrations: [], productsInserted: 0, clientsInserted: 0 });
    } finally {
      process.env.DATABASE_URL = saved;
      const { sharedDb } = await import("../../handlers/support/database");
      await (await sharedDb()).destroy();
    }
  });
});

describe("the replication user for log tailing", () => {
  let database: TestDatabase;
  beforeAll(async () => (database = await freshDatabase(2)));
  afterAll(async () => database.drop());

  it("is created idempotently, may replicate and read the outbox, and nothing else", async () => {
    const username = `tailer_${Date.now()}`;
    await migrateAndSeed(database.db, { username, password: "first 'quoted' password" });
    await migrateAndSeed(database.db, { username, password: "second password" });

    const role = await sql<{ rolreplication: boolean; rolcanlogin: boolean; rolsuper: boolean }>`
      SELECT rolreplication, rolcanlogin, rolsuper FROM pg_roles WHERE rolname = ${username}`.execute(database.db);
    expect(role.rows).toEqual([{ rolreplication: true, rolcanlogin: true, rolsuper: false }]);

    const { Client } = await import("pg");
    const url = new URL(database.url);
    url.username = username;
    url.password = "second password";
    const tailer = new Client({ connectionString: url.toString() });
    await tailer.connect();
    try {
      await expect(tailer.query("SELECT count(*) FROM outbox")).resolves.toBeDefined();
      await expect(tailer.query('SELECT count(*) FROM "order"')).rejects.toThrow(/permission denied/);
      // Its own schema, for the DMS heartbeat table.
      await expect(tailer.query("CREATE TABLE dms.awsdms_heartbeat (id int)")).resolves.toBeDefined();
    } finally {
      await tailer.end();
      await sql.raw(`DROP SCHEMA dms CASCADE; DROP OWNED BY ${username}; DROP ROLE ${username}`).execute(database.db);
    }
  });
});
