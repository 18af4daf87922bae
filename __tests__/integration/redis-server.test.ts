import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { startRedisServer } from "../../local/redis-server";

let dataDir: string;
/** Orphans this file made, killed after each test should the code under test have missed one. */
const orphans: number[] = [];
beforeEach(async () => (dataDir = await mkdtemp(join(tmpdir(), "cqrs-redis-test-"))));
afterEach(async () => {
  for (const pid of orphans.splice(0)) if (await isRedisServer(pid)) process.kill(pid, "SIGKILL");
  await rm(dataDir, { recursive: true, force: true });
});

const withRedis = async <A>(url: string, use: (redis: Redis) => Promise<A>): Promise<A> => {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
  }
};

/** Whether `pid` is a redis-server still running (a zombie's cmdline is empty). */
const isRedisServer = async (pid: number): Promise<boolean> =>
  (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).startsWith("redis-server");

/**
 * A runtime that starts its redis-server on `dataDir` and is then SIGKILLed: no exit hook
 * runs, so the server lives on, an orphan.
 */
const orphanRedis = async (dir: string): Promise<{ url: string; pid: number }> => {
  const runtime: ChildProcess = spawn(
    process.execPath,
    [
      "--import", "tsx", "-e",
      `require("./local/redis-server.ts").startRedisServer({ dataDir: process.argv[1] })
         .then((r) => { console.log(JSON.stringify({ url: r.url, pid: r.pid })); setInterval(() => {}, 1000); });`,
      dir,
    ],
    { cwd: join(__dirname, "..", ".."), stdio: ["ignore", "pipe", "inherit"] },
  );
  const started = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    let out = "";
    runtime.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!) as { url: string; pid: number });
    });
    runtime.once("exit", (code) => reject(new Error(`the runtime exited with ${code} before its redis-server was up`)));
  });
  orphans.push(started.pid);
  const exited = new Promise((resolve) => runtime.once("exit", resolve));
  runtime.kill("SIGKILL");
  await exited;
  return started;
};

describe("startRedisServer", () => {
  it("without a data folder keeps nothing", async () => {
    const server = await startRedisServer();
    try {
      expect(server.pid).toBeGreaterThan(0);
      expect(await withRedis(server.url, (redis) => redis.config("GET", "appendonly"))).toEqual(["appendonly", "no"]);
      expect(await withRedis(server.url, (redis) => redis.config("GET", "save"))).toEqual(["save", ""]);
    } finally {
      await server.stop();
    }
  });

  it("with a data folder keeps the data across a stop and a start, and across a crash", async () => {
    const first = await startRedisServer({ dataDir: join(dataDir, "nested", "redis") });
    expect(Number(await readFile(join(dataDir, "nested", "redis", "redis.pid"), "utf8"))).toBe(first.pid);
    await withRedis(first.url, (redis) => redis.set("readmodel:generation", "g1"));
    await first.stop();

    const second = await startRedisServer({ dataDir: join(dataDir, "nested", "redis") });
    expect(second.pid).not.toBe(first.pid);
    expect(await withRedis(second.url, (redis) => redis.get("readmodel:generation"))).toBe("g1");
    expect(await withRedis(second.url, (redis) => redis.config("GET", "appendfsync"))).toEqual(["appendfsync", "everysec"]);
    // Acknowledged writes are in the file before the reply: a SIGKILL loses none of them.
    await withRedis(second.url, (redis) => redis.set("client:{1}", "just before the crash"));
    process.kill(second.pid, "SIGKILL");
    await second.stop();

    const third = await startRedisServer({ dataDir: join(dataDir, "nested", "redis") });
    try {
      expect(await withRedis(third.url, (redis) => redis.mget("readmodel:generation", "client:{1}"))).toEqual(["g1", "just before the crash"]);
    } finally {
      await third.stop();
    }
  });

  it("reclaims the orphan of a SIGKILLed runtime, with its data; refuses to share the folder otherwise", async () => {
    const orphan = await orphanRedis(dataDir);
    expect(await isRedisServer(orphan.pid)).toBe(true);
    await withRedis(orphan.url, (redis) => redis.set("readmodel:generation", "from the orphan"));

    await expect(startRedisServer({ dataDir })).rejects.toThrow(`redis-server ${orphan.pid} is already running on ${dataDir}`);
    expect(await isRedisServer(orphan.pid)).toBe(true);

    const server = await startRedisServer({ dataDir, reclaimOrphan: true });
    try {
      expect(await isRedisServer(orphan.pid)).toBe(false);
      expect(await withRedis(server.url, (redis) => redis.get("readmodel:generation"))).toBe("from the orphan");
    } finally {
      await server.stop();
    }
  });

  it("leaves alone a live process that is not a redis-server, named by a stale pidfile (a recycled pid)", async () => {
    const bystander = spawn("sleep", ["30"], { stdio: "ignore" });
    const exited = new Promise((resolve) => bystander.once("exit", resolve));
    try {
      await writeFile(join(dataDir, "redis.pid"), `${bystander.pid}\n`);
      const server = await startRedisServer({ dataDir, reclaimOrphan: true });
      try {
        expect(await withRedis(server.url, (redis) => redis.ping())).toBe("PONG");
        expect(bystander.exitCode).toBeNull();
        expect(bystander.signalCode).toBeNull();
      } finally {
        await server.stop();
      }
    } finally {
      bystander.kill("SIGKILL");
      await exited;
    }
  });
});
