import type { Socket } from "node:net";
import { Pool, type PoolClient } from "pg";
import { createPool, endPool, trackConnections } from "../../adapters/postgres/pool";
import { freePort } from "../../local/free-port";
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

  it("is not held up by a connection that was still connecting when called, and then failed", async () => {
    // Nothing listens there: the attempt fails, and pg-pool drops it without a 'remove'.
    const pool = createPool({ connectionString: `postgres://nobody:none@127.0.0.1:${await freePort()}/none`, max: 1, onIdleError: () => undefined });
    const attempt = pool.connect().then(
      () => "connected",
      () => "refused",
    );
    expect(pool.totalCount).toBe(1);
    const started = Date.now();
    await endPool(pool);
    expect(await attempt).toBe("refused");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("tracks a plain pg pool passed to trackConnections, and refuses one that is not tracked", async () => {
    const plain = trackConnections(new Pool({ connectionString: database.url, max: 2 }));
    const sockets: Socket[] = [];
    plain.on("connect", (client) => sockets.push((client as unknown as { connection: { stream: Socket } }).connection.stream));
    await plain.query("SELECT 1");
    await endPool(plain);
    expect(sockets).toHaveLength(1);
    expect(openSockets(sockets)).toBe(0);
    const untracked = new Pool({ connectionString: database.url, max: 1 });
    await expect(endPool(untracked)).rejects.toThrow(/not tracked/);
    await untracked.end();
  });

  it("resolves at once for a pool that never connected", async () => {
    const pool = createPool({ connectionString: database.url, max: 2 });
    await expect(endPool(pool)).resolves.toBeUndefined();
  });
});
