import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { BODIES } from "./http";
import { type Percentiles, percentiles, sleep } from "./stats";

export interface PacedResult {
  readonly targetPerSecond: number;
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Sends that were due while `maxInFlight` requests were outstanding: not sent. */
  readonly skipped: number;
  readonly achievedPerSecond: number;
  readonly latencyMs: Percentiles;
  readonly startedAtMs: number;
}

/** How one request on the wire ends: answered with a 2xx, or not. */
type Finish = (ok: boolean) => void;

/** The status of one complete response at the start of `buffer`, and its length; undefined while incomplete. */
export const completeResponse = (buffer: Buffer): { status: number; length: number } | undefined => {
  const headEnd = buffer.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const head = buffer.toString("latin1", 0, headEnd);
  const status = Number(head.slice(9, 12));
  const contentLength = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (contentLength !== null) {
    const length = headEnd + 4 + Number(contentLength[1]);
    return buffer.length >= length ? { status, length } : undefined;
  }
  if (!/\r\ntransfer-encoding:\s*chunked/i.test(head)) throw new Error(`a response without Content-Length or chunked framing: ${head.split("\r\n")[0]}`);
  // Chunked: size line, data, CRLF, ... up to the zero-size chunk and its empty trailer.
  let at = headEnd + 4;
  for (;;) {
    const lineEnd = buffer.indexOf("\r\n", at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buffer.toString("latin1", at, lineEnd), 16);
    if (Number.isNaN(size)) throw new Error("a malformed chunk size in a response");
    if (size === 0) {
      const end = buffer.indexOf("\r\n\r\n", lineEnd);
      return end < 0 ? undefined : { status, length: end + 4 };
    }
    at = lineEnd + 2 + size + 2;
    if (buffer.length < at) return undefined;
  }
};

/**
 * Keep-alive HTTP/1.1 connections written and read by hand: one request per connection at a
 * time, no pipelining. The paced load shares two cores with the system it measures, and
 * node:http's client (agent, parser, header objects) cost about 180 µs of CPU per request;
 * this costs a fraction of that, so the figures are the system's, not the generator's.
 */
class Connections {
  private readonly idle: Socket[] = [];
  private readonly open = new Set<Socket>();
  private readonly current = new Map<Socket, Finish>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  send(request: Buffer, finish: Finish): void {
    const socket = this.idle.pop() ?? this.connectOne();
    this.current.set(socket, finish);
    socket.write(request);
  }

  close(): void {
    for (const socket of this.open) socket.destroy();
  }

  private connectOne(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.open.add(socket);
    let received: Buffer = Buffer.alloc(0);
    const fail = () => {
      this.open.delete(socket);
      const index = this.idle.indexOf(socket);
      if (index >= 0) this.idle.splice(index, 1);
      const finish = this.current.get(socket);
      this.current.delete(socket);
      finish?.(false);
      socket.destroy();
    };
    socket.setTimeout(this.timeoutMs, fail);
    socket.on("error", fail);
    socket.on("close", fail);
    socket.on("data", (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      let response: ReturnType<typeof completeResponse>;
      try {
        response = completeResponse(received);
      } catch {
        return fail();
      }
      if (response === undefined) return;
      received = received.subarray(response.length);
      const finish = this.current.get(socket);
      this.current.delete(socket);
      this.idle.push(socket);
      finish?.(response.status >= 200 && response.status < 300);
    });
    return socket;
  }
}

/**
 * Open loop: request i is due at start + i / rate, whether or not earlier ones were answered
 * (latency counted from the time it was due, so a stall is not hidden). Bounded: at most
 * `maxInFlight` outstanding requests, and no request outlives `seconds` + 10 s.
 */
export const runPaced = async (url: string, auth: string, rate: number, seconds: number, maxInFlight = 512): Promise<PacedResult> => {
  const target = new URL(`${url}/orders`);
  const connections = new Connections(target.hostname, Number(target.port), (seconds + 10) * 1000);
  // Every request's Idempotency-Key is this run's prefix and its index: unique, and free to make.
  const run = randomBytes(6).toString("hex");
  const heads = BODIES.map(
    (body) =>
      `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: ${auth}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nIdempotency-Key: bench-${run}-`,
  );
  const latencies: number[] = [];
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  let answeredAll: () => void = () => undefined;
  const allAnswered = new Promise<void>((done) => (answeredAll = done));
  let sending = true;
  const total = Math.max(1, Math.round(rate * seconds));
  const startedAtMs = Date.now();
  const start = performance.now();
  let index = 0;
  while (index < total) {
    const now = performance.now();
    while (index < total && start + (index * 1000) / rate <= now) {
      const dueAt = start + (index * 1000) / rate;
      if (inFlight >= maxInFlight) skipped += 1;
      else {
        const body = index % BODIES.length;
        sent += 1;
        inFlight += 1;
        connections.send(Buffer.from(`${heads[body]}${index}\r\n\r\n${BODIES[body]}`, "utf8"), (success) => {
          inFlight -= 1;
          if (success) {
            ok += 1;
            latencies.push(performance.now() - dueAt);
          } else failed += 1;
          if (!sending && inFlight === 0) answeredAll();
        });
      }
      index += 1;
    }
    const nextDue = start + (index * 1000) / rate;
    await sleep(Math.max(0, Math.min(5, nextDue - performance.now())));
  }
  const lastDue = performance.now();
  sending = false;
  if (inFlight > 0) await allAnswered;
  connections.close();
  return {
    targetPerSecond: rate,
    sent,
    ok,
    failed,
    skipped,
    achievedPerSecond: (ok * 1000) / Math.max(1, lastDue - start),
    latencyMs: percentiles(latencies),
    startedAtMs,
  };
};
