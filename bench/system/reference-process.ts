// The lag's reference pipeline, as the system bench runs it (a child process, as the runtime
// is): the system's hops and nothing more. POST /orders writes an order and its outbox row in
// one statement (the CDC bench's insert); a pgoutput tailer sets each event's applied marker
// in Redis, which is what the bench's watcher hears. No idempotency key, no read, no view, no
// purge, no visibility check, no AWS-shaped hand-offs: what the hops alone cost on a machine.
import { createServer } from "node:http";
import { Redis } from "ioredis";
import { Pool } from "pg";
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from "pg-logical-replication";
import { insertRow } from "./cdc";

const setting = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
};

const main = async (): Promise<void> => {
  const databaseUrl = setting("REFERENCE_DATABASE_URL");
  const slot = setting("REFERENCE_SLOT");
  const redis = new Redis(setting("REFERENCE_REDIS_URL"));
  redis.on("error", (error) => console.error(`reference: redis: ${error.message}`));

  // Confirmed once a second (the library's timer), not after every message: a status update
  // per message would be a write and a wake-up of the walsender each, which the system's own
  // tailer spares itself too. Nothing here outlives a crash, so nothing needs it sooner.
  const tailer = new LogicalReplicationService({ connectionString: databaseUrl }, { acknowledge: { auto: false, timeoutSeconds: 1 } });
  tailer.on("data", (_lsn: string, message: Pgoutput.Message) => {
    if (message.tag !== "insert" || message.relation.name !== "outbox") return;
    const row = message.new as { id: string; aggregate_id: string };
    void redis.set(`applied:{${row.aggregate_id}}:${row.id}`, "1");
  });
  tailer.on("error", (error: Error) => console.error(`reference: replication: ${error.message}`));
  tailer.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [slot] }), slot).catch((error: unknown) => {
    console.error(`reference: replication stopped: ${String(error)}`);
    process.exit(1);
  });

  const pool = new Pool({ connectionString: databaseUrl, max: 16 });
  pool.on("error", (error) => console.error(`reference: postgres: ${error.message}`));
  let placed = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      placed += 1;
      insertRow(pool, placed).then(
        ({ eventId }) => {
          const body = JSON.stringify({ eventId });
          response.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
          response.end(body);
        },
        (error: unknown) => {
          response.writeHead(500, { "Content-Type": "text/plain" });
          response.end(String(error));
        },
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the reference server has no port");
    console.log(`reference listening on http://127.0.0.1:${address.port}`);
  });
};

main().catch((error: unknown) => {
  console.error(`reference: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
