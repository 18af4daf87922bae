import type { Socket } from "node:net";
import type { PoolClient } from "pg";
import { createPool, endPool } from "../../adapters/postgres/pool";
import { freshDatabase, type TestDatabase } from "../support/database";

/**
 * `endPool` resolves only once every connection of the pool is closed on our side, so a
 * server stopped right after (the bench stops its private one) has none left to end itself
 * and none is reported as lost.
 */
let database: TestDatabase;

beforeAll(async () => {
  database = await freshDatabase(1);
});

afterAll(async () => {
  await database.drop();
});

/** A pool of `size` open connections, with each connection's socket. */
const openPool = async (size: number) => {
  const lost: Error[] = [];
  const pool = createPool({ connectionString: database.url, max: size, onIdleError: (error) => lost.push(error) });
  const sockets: Socket[] = [];
  pool.on("connect", (client) => sockets.push((client as unknown as { connection: { stream: Socket } }).connection.stream));
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  return { pool, sockets, clients, lost };
};

const openSockets = (sockets: ReadonlyArray<Socket>) => sockets.filter((socket) => !socket.destroyed).length;

describe("endPool", () => {
  it("resolves once every idle connection's socket is closed", async () => {
    const { pool, sockets, clients, lost } = await openPool(4);
    for (const client of clients) client.release();
    expect(openSockets(sockets)).toBe(4);
    await endPool(pool);
    expect(sockets).toHaveLength(4);
    expect(openSockets(sockets)).toBe(0);
    expect(lost).toEqual([]);
  });

  it("waits for a connection still checked out, and closes it once released", async () => {
    const { pool, sockets, clients } = await openPool(2);
    const [busy, idle] = clients as [PoolClient, PoolClient];
    idle.release();
    let ended = false;
    const ending = endPool(pool).then(() => {
      ended = true;
    });
    await busy.query("SELECT pg_sleep(0.2)");
    expect(ended).toBe(false);
    busy.release();
    await ending;
    expect(openSockets(sockets)).toBe(0);
  });

  it("resolves at once for a pool that never connected", async () => {
    const pool = createPool({ connectionString: database.url, max: 2 });
    await expect(endPool(pool)).resolves.toBeUndefined();
  });
});
