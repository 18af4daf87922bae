import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { startLocalRuntime } from "../../local/runtime";
import { freshDatabase } from "../support/database";

it("fails to start, cleanly and quickly, when its port is taken", async () => {
  const database = await freshDatabase(2);
  const dataDir = mkdtempSync(join(tmpdir(), "cqrs-startup-"));
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", () => resolve()));
  const port = (squatter.address() as { port: number }).port;
  try {
    const started = Date.now();
    await expect(
      startLocalRuntime({ databaseUrl: database.url, redisUrl: process.env.REDIS_URL as string, redisKeyPrefix: "startup-failure:", dataDir, port }),
    ).rejects.toThrow(/EADDRINUSE/);
    expect(Date.now() - started).toBeLessThan(10_000);
    // Everything it had started was stopped: its replication connection is gone. The server
    // ends the walsender a moment after the client closed it, so give it 5 s; a connection
    // left open stays, and fails this.
    const walSenders = async () =>
      Number(
        (await database.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'walsender'"))
          .rows[0]?.n,
      );
    const deadline = Date.now() + 5_000;
    let open = await walSenders();
    while (open > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      open = await walSenders();
    }
    expect(open).toBe(0);
  } finally {
    squatter.close();
    await database.pool.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()");
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
