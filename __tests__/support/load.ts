import { randomInt, randomUUID } from "node:crypto";

/**
 * A bounded load of orders against a local runtime (127.0.0.1 only). Every order has its
 * own Idempotency-Key; when its answer is lost (connection refused or reset, a timeout) or
 * is a 503, the SAME request is sent again with the same key, after a short backoff, so an
 * order is never placed twice however often the runtime dies under it. It stops by itself:
 * each order gives up after `giveUpAfterMs`, and the whole run after `deadlineMs`.
 */

export interface LoadOptions {
  /** The runtime's current URL; undefined while it is down (the order then waits). */
  readonly url: () => string | undefined;
  /** The Authorization header (`Basic ...`). */
  readonly auth: string;
  readonly orders: number;
  readonly concurrency: number;
  /** Per order: stop retrying after this long (default 90 s). */
  readonly giveUpAfterMs?: number;
  /** The whole run (default 240 s). */
  readonly deadlineMs?: number;
  /** Per request (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Each client waits this long between two orders (default 0: back to back). */
  readonly pauseBetweenMs?: number;
  /** Aborting stops the load: no new order, no new retry. */
  readonly signal?: AbortSignal;
  /** Told of every answer (for cases that watch what the API said during a fault). */
  readonly onAnswer?: (answer: Answer) => void;
  /** Told each time an order is placed (its first 200), with the number placed so far. */
  readonly onPlaced?: (placed: number) => void | Promise<void>;
}

export interface Answer {
  readonly status: number;
  readonly code?: string;
  readonly at: number;
}

export interface PlacedOrder {
  readonly key: string;
  readonly clientId: number;
  readonly orderId: string;
  /** Currency units, as the API answers. */
  readonly total: number;
  readonly replayed: boolean;
}

export interface LoadResult {
  /** Orders answered 200 (once each, whatever the retries). */
  readonly placed: ReadonlyArray<PlacedOrder>;
  /** Orders that never got a 200 before giving up or hitting another status. */
  readonly failed: ReadonlyArray<{ readonly key: string; readonly reason: string }>;
  /** Every status seen, including those retried (503s). */
  readonly statuses: Readonly<Record<string, number>>;
  /** Requests whose answer was lost (connection error, timeout), by error text. */
  readonly lostAnswers: Readonly<Record<string, number>>;
  readonly retries: number;
  /** 200s that were replays of an order an earlier, lost answer had placed. */
  readonly replays: number;
  readonly durationMs: number;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** 1 to 3 lines of distinct products (the API rejects a repeated product), quantities 1 to 5. */
export const randomOrder = (): { id_client: number; products: Array<{ id_product: number; quantity: number }> } => {
  const products = [1, 2, 3];
  for (let i = products.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [products[i], products[j]] = [products[j] as number, products[i] as number];
  }
  products.length = 1 + randomInt(3);
  return {
    id_client: 1 + randomInt(3),
    products: products.map((id_product) => ({ id_product, quantity: 1 + randomInt(5) })),
  };
};

/** fetch's errors come from another realm than jest's: no instanceof. */
const errorText = (error: unknown): string => {
  const { name, message, cause } = (error ?? {}) as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (name === "TimeoutError") return "timeout";
  return cause?.code ?? cause?.message ?? message ?? String(error);
};

export const runLoad = async (options: LoadOptions): Promise<LoadResult> => {
  const started = Date.now();
  const runDeadline = started + (options.deadlineMs ?? 240_000);
  const giveUpAfter = options.giveUpAfterMs ?? 90_000;
  const requestTimeout = options.requestTimeoutMs ?? 10_000;
  const placed: PlacedOrder[] = [];
  const failed: Array<{ key: string; reason: string }> = [];
  const statuses: Record<string, number> = {};
  const lostAnswers: Record<string, number> = {};
  let retries = 0;
  let replays = 0;
  let next = 0;

  const placeOne = async (): Promise<void> => {
    const key = randomUUID();
    const order = randomOrder();
    const body = JSON.stringify(order);
    const giveUp = Math.min(Date.now() + giveUpAfter, runDeadline);
    let backoff = 25;
    let answerLost = false;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) {
        failed.push({ key, reason: "the load was stopped" });
        return;
      }
      if (attempt > 0) {
        retries++;
        if (Date.now() + backoff > giveUp) {
          failed.push({ key, reason: `gave up after ${attempt} attempt(s)` });
          return;
        }
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 500);
      }
      const url = options.url();
      if (url === undefined) continue;
      if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) throw new Error(`the load generator only talks to 127.0.0.1, not ${url}`);
      let response: Response;
      try {
        response = await fetch(`${url}/orders`, {
          method: "POST",
          headers: { authorization: options.auth, "content-type": "application/json", "idempotency-key": key },
          body,
          signal: AbortSignal.timeout(requestTimeout),
        });
      } catch (error) {
        const text = errorText(error);
        lostAnswers[text] = (lostAnswers[text] ?? 0) + 1;
        answerLost = true;
        continue;
      }
      const text = await response.text().catch(() => "");
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // reported below through the status
      }
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      options.onAnswer?.({ status: response.status, ...(typeof json.code === "string" ? { code: json.code } : {}), at: Date.now() });
      if (response.status === 503) continue;
      if (response.status !== 200) {
        failed.push({ key, reason: `${response.status} ${text.slice(0, 300)}` });
        return;
      }
      const replayed = response.headers.get("idempotent-replayed") === "true";
      if (replayed && !answerLost && attempt === 0) {
        failed.push({ key, reason: "a first request answered as a replay" });
        return;
      }
      if (replayed) replays++;
      placed.push({ key, clientId: order.id_client, orderId: String(json.order_id), total: Number(json.total), replayed });
      await options.onPlaced?.(placed.length);
      return;
    }
  };

  const worker = async (): Promise<void> => {
    while (next < options.orders && Date.now() < runDeadline && !options.signal?.aborted) {
      next++;
      await placeOne();
      if (options.pauseBetweenMs) await sleep(options.pauseBetweenMs);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  return { placed, failed, statuses, lostAnswers, retries, replays, durationMs: Date.now() - started };
};
