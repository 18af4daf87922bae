import { randomInt } from "node:crypto";
import { makePlaceOrderHandler, placeOrderDeps } from "../../handlers/place-order";
import { postOrder } from "../support/api-gateway";
import { randomOrder, runLoad } from "../support/load";
import { expectLoad, faultCase, outboxRows, privateServers, settle, sleep, until } from "./harness";

/**
 * The runtime dies under load: killed outright (nothing of it runs after the signal), or
 * stopped gracefully. What it had acknowledged on the slot must have been fully handled;
 * the rest replays at the next start. No rebuild may paper over a loss: the Redis keeps
 * its generation across the restarts, so none is expected.
 */
const servers = privateServers();

/** `n` distinct order counts, sorted, spread over 5 % to 85 % of `orders`. */
const randomMoments = (n: number, orders: number): number[] => {
  const picked = new Set<number>();
  while (picked.size < n) picked.add(Math.floor(orders * 0.05) + randomInt(Math.floor(orders * 0.8)));
  return [...picked].sort((a, b) => a - b);
};

faultCase("the runtime SIGKILLed at 5 random moments under load", 240_000, servers, async (c) => {
  const { runtime } = c;
  await runtime.start();
  const orders = 600;
  const moments = randomMoments(5, orders);
  c.figures.killAtOrders = moments;
  let placed = 0;
  const load = runLoad({
    url: runtime.url,
    auth: runtime.auth,
    orders,
    concurrency: 8,
    pauseBetweenMs: 5,
    signal: c.signal,
    onPlaced: (n) => void (placed = n),
  });
  const kills: Array<{ placed: number; outbox: number; restartMs: number }> = [];
  c.figures.kills = kills;
  const killer = (async () => {
    for (const moment of moments) {
      await until(`order ${moment} to be placed`, () => placed >= moment, 120_000);
      await sleep(randomInt(250));
      const outbox = await outboxRows(c);
      const killed = Date.now();
      await runtime.kill("SIGKILL");
      expect(await runtime.waitExit(10_000)).toEqual({ code: null, signal: "SIGKILL" });
      await runtime.start();
      kills.push({ placed, outbox, restartMs: Date.now() - killed });
    }
  })();
  const [result] = await Promise.all([load, killer]);
  expectLoad(c, result, orders);
  expect(kills).toHaveLength(5);
  expect(runtime.lifetimes).toHaveLength(6);
  await settle(c, { orders });
});

faultCase("SIGTERM mid-stream, then a restart", 150_000, servers, async (c) => {
  const { runtime, database } = c;
  await runtime.start();
  const orders = 300;
  let placed = 0;
  const load = runLoad({ url: runtime.url, auth: runtime.auth, orders, concurrency: 8, signal: c.signal, onPlaced: (n) => void (placed = n) });
  await until("120 orders to be placed", () => placed >= 120, 60_000);
  // Mid-stream: orders straight from the order service (16 writers, as the Lambdas on
  // AWS) keep a backlog in the pipeline, and the signal comes while it drains. The writers
  // go on until the signal, so a row is in flight however fast the pipeline drains on this
  // machine: the signal never waits for a backlog that has already emptied.
  const place = makePlaceOrderHandler(async () => placeOrderDeps(database.db));
  let stopped = false;
  const refused: number[] = [];
  const writers = Promise.all(
    Array.from({ length: 16 }, async () => {
      let ok = 0;
      for (let i = 0; (i < 10 || !stopped) && !c.signal.aborted; i++) {
        const { statusCode } = await place(postOrder(randomOrder()));
        if (statusCode === 200) ok++;
        else refused.push(statusCode);
      }
      return ok;
    }),
  );
  let signalled = 0;
  try {
    const looked = Date.now();
    await until("an outbox row in flight", async () => (await outboxRows(c)) > 0, 30_000, 2);
    c.figures.inFlightAfterMs = Date.now() - looked;
    c.figures.outboxAtSigterm = await outboxRows(c);
    c.figures.placedAtSigterm = placed;
    signalled = Date.now();
    await runtime.kill("SIGTERM");
  } finally {
    // The writers stop once the signal is out, or when the case failed before it.
    stopped = true;
  }
  const exit = await runtime.waitExit(30_000);
  c.figures.stopMs = Date.now() - signalled;
  const written = (await writers).reduce((a, b) => a + b, 0);
  c.figures.writtenStraight = written;
  expect(refused).toEqual([]);
  expect(written).toBeGreaterThanOrEqual(160);
  expect(exit).toEqual({ code: 0, signal: null });
  c.figures.outboxAfterStop = await outboxRows(c);
  await runtime.start();
  const result = await load;
  expectLoad(c, result, orders);
  await settle(c, { orders: orders + written });
});
