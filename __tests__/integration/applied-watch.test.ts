import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { type AppliedWatch, watchApplied } from "../../bench/system/views";
import { startRedisServer, type RunningRedis } from "../../local/redis-server";

/*
 * The bench hears each event reach its view from Redis itself (keyspace notifications of the
 * apply script's marker SET), and waits on those notifications rather than polling.
 */

let server: RunningRedis;
let redis: Redis;
let watch: AppliedWatch;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
  watch = await watchApplied(server.url);
});
afterAll(async () => {
  await watch.stop();
  redis.disconnect();
  await server.stop();
});

const marker = (client: number, eventId: string) => `applied:{${client}}:${eventId}`;

describe("the bench's applied-marker watch", () => {
  it("records when each marker was first set, and ignores other keys", async () => {
    const before = performance.timeOrigin + performance.now();
    await redis.set(marker(1, "e-1"), "1");
    await redis.set("view:{1}", "not a marker");
    await expect(watch.waitFor(["e-1"], 5_000)).resolves.toEqual([]);
    const first = watch.appliedAt.get("e-1") as number;
    expect(first).toBeGreaterThanOrEqual(before);
    await redis.set(marker(1, "e-1"), "again");
    await redis.set(marker(2, "e-2"), "1");
    await expect(watch.waitFor(["e-2"], 5_000)).resolves.toEqual([]);
    expect(watch.appliedAt.get("e-1")).toBe(first);
    expect([...watch.appliedAt.keys()].filter((id) => !id.startsWith("e-"))).toEqual([]);
  });

  it("resolves once every id was heard, counting those heard before it was asked", async () => {
    await redis.set(marker(3, "early"), "1");
    await expect(watch.waitFor(["early"], 5_000)).resolves.toEqual([]);
    const ids = Array.from({ length: 200 }, (_, i) => `batch-${i}`);
    const waiting = watch.waitFor(["early", ...ids], 10_000);
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.set(marker(3, id), "1");
    await pipeline.exec();
    await expect(waiting).resolves.toEqual([]);
    expect(ids.every((id) => watch.appliedAt.has(id))).toBe(true);
  });

  it("gives back, in the order asked, the ids still unheard when it times out", async () => {
    await redis.set(marker(4, "heard"), "1");
    const started = performance.now();
    await expect(watch.waitFor(["never-b", "heard", "never-a"], 300)).resolves.toEqual(["never-b", "never-a"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("lets two waits run at once, each ending with its own ids", async () => {
    const one = watch.waitFor(["both-1"], 5_000);
    const two = watch.waitFor(["both-1", "both-2"], 5_000);
    await redis.set(marker(5, "both-1"), "1");
    await expect(one).resolves.toEqual([]);
    await redis.set(marker(5, "both-2"), "1");
    await expect(two).resolves.toEqual([]);
  });

  it("forgets the markers heard before a time, and keeps those heard since", async () => {
    await redis.set(marker(6, "old"), "1");
    await expect(watch.waitFor(["old"], 5_000)).resolves.toEqual([]);
    const cut = (watch.appliedAt.get("old") as number) + 0.001;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await redis.set(marker(6, "new"), "1");
    await expect(watch.waitFor(["new"], 5_000)).resolves.toEqual([]);
    watch.forgetHeardBefore(cut);
    expect(watch.appliedAt.has("old")).toBe(false);
    expect(watch.appliedAt.has("new")).toBe(true);
    expect([...watch.appliedAt.values()].every((at) => at >= cut)).toBe(true);
  });
});
