// `npm run redrive -- <projection|outbox-purge|quarantine>`: sends the dead letters of a
// queue (or the quarantined records) of the running local runtime back for another try.
// The runtime keeps them in PostgreSQL; a message that fails again is kept again.
import { resolve } from "node:path";
import { readRuntimeDetails } from "./runtime-lock";

const SOURCES = ["projection", "outbox-purge", "quarantine"] as const;

const main = async (): Promise<number> => {
  const source = process.argv[2];
  if (source === undefined || !(SOURCES as ReadonlyArray<string>).includes(source)) {
    console.error(`usage: npm run redrive -- <${SOURCES.join("|")}>`);
    return 2;
  }
  const dataDir = resolve(process.env.LOCAL_DATA_DIR ?? ".local-data");
  const runtime = readRuntimeDetails(dataDir);
  if (runtime === undefined) {
    console.error(`no local runtime is running in ${dataDir}: start it with npm start (the dead letters stay in PostgreSQL until then)`);
    return 1;
  }
  const { username, password } = runtime.credentials as { username: string; password: string };
  const response = await fetch(`${String(runtime.url)}/_local/redrive/${source}`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` },
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await response.json()) as { redriven?: number; message?: string };
  if (!response.ok) {
    console.error(`redrive failed (${response.status}): ${body.message ?? JSON.stringify(body)}`);
    return 1;
  }
  console.log(`sent ${body.redriven} message(s) from ${source} back; see ${String(runtime.health)} for what is left`);
  return 0;
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`redrive failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
