import { execFile, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventEmitter } from "node:events";
import autocannon from "autocannon";
import { ORDERS } from "./sql";
import { type Percentiles, percentiles } from "./stats";

/** The seed's orders as POST /orders bodies (README's curl examples' shape). */
export const BODIES = ORDERS.map((order) =>
  JSON.stringify({ id_client: order.clientId, products: order.lines.map((l) => ({ id_product: l.productId, quantity: l.quantity })) }),
);

export interface HttpPoint {
  readonly connections: number;
  readonly orders: number;
  readonly ordersPerSecond: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly latencyMs: Percentiles;
}

/**
 * Closed loop: `connections` keep-alive connections, each sending POST /orders (a fresh
 * Idempotency-Key each) as soon as the previous answer came, for `seconds`.
 */
export const runAutocannon = async (url: string, auth: string, connections: number, seconds: number): Promise<HttpPoint> => {
  let next = 0;
  const latencies: number[] = [];
  const instance = autocannon({
    url: `${url}/orders`,
    connections,
    duration: seconds,
    timeout: 10,
    headers: { authorization: auth, "content-type": "application/json" },
    requests: [
      {
        method: "POST",
        path: "/orders",
        setupRequest: (req) => ({
          ...req,
          body: BODIES[next++ % BODIES.length] as string,
          headers: { ...req.headers, "idempotency-key": randomUUID() },
        }),
      },
    ],
  });
  // autocannon 8 emits (client, statusCode, resBytes, responseTime); its types omit the client.
  (instance as unknown as EventEmitter).on("response", (...args: unknown[]) => {
    const status = args[1] as number;
    if (status >= 200 && status < 300) latencies.push(args[3] as number);
  });
  const result = await instance;
  const orders = result["2xx"];
  return {
    connections,
    orders,
    ordersPerSecond: orders / (result.duration || seconds),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyMs: percentiles(latencies),
  };
};

/** wrk (a C load generator, Debian's `wrk`) when on PATH: it takes far less CPU than autocannon on this shared machine. */
export const wrkVersion = (): string | undefined => {
  // wrk --version prints its version and exits 1, so only the output counts.
  const { stdout } = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  return /wrk (\S+)/.exec(stdout ?? "")?.[1];
};

const luaString = (text: string) => `[==[${text}]==]`;

/**
 * The same closed loop with wrk: one thread, `connections` keep-alive connections, a fresh
 * Idempotency-Key per request (the run's random prefix, the thread, a counter), the seed's
 * bodies in turn. The script reports wrk's own counts and latency percentiles as one JSON line.
 */
export const runWrk = async (url: string, auth: string, connections: number, seconds: number): Promise<HttpPoint> => {
  const dir = await mkdtemp(join(tmpdir(), "cqrs-bench-wrk-"));
  try {
    const script = join(dir, "orders.lua");
    const run = randomBytes(6).toString("hex");
    await writeFile(
      script,
      `local bodies = { ${BODIES.map(luaString).join(", ")} }
local counter = 0
local thread_id = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
function request()
  counter = counter + 1
  local body = bodies[(counter % #bodies) + 1]
  return wrk.format("POST", "/orders", {
    ["Authorization"] = ${luaString(auth)},
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("${run}-%d-%d", thread_id, counter),
  }, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests":%d,"duration_us":%d,"status_errors":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
`,
    );
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        "wrk",
        ["-t", "1", "-c", String(connections), "-d", `${seconds}s`, "--timeout", "10s", "-s", script, `${url}/orders`],
        { timeout: (seconds + 30) * 1000 },
        (error, out, err) => (error ? reject(new Error(`wrk failed: ${error.message}\n${err}`)) : resolve(out)),
      ),
    );
    const line = /WRK_RESULT (\{.*\})/.exec(stdout)?.[1];
    if (line === undefined) throw new Error(`wrk printed no result:\n${stdout}`);
    const r = JSON.parse(line) as Record<"requests" | "duration_us" | "status_errors" | "connect" | "read" | "write" | "timeout" | "p50" | "p95" | "p99" | "max", number>;
    const orders = r.requests - r.status_errors;
    const toMs = (us: number) => us / 1000;
    return {
      connections,
      orders,
      ordersPerSecond: orders / (r.duration_us / 1e6),
      non2xx: r.status_errors,
      errors: r.connect + r.read + r.write + r.timeout,
      latencyMs: { p50: toMs(r.p50), p95: toMs(r.p95), p99: toMs(r.p99), max: toMs(r.max), count: orders },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
