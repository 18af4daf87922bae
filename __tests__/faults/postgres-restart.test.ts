import { runLoad, type Answer } from "../support/load";
import { expectLoad, faultCase, privateServers, settle, until } from "./harness";

/**
 * PostgreSQL goes away under load (a restart, a failover) and comes back on the same port.
 * Every pooled connection and the replication connection die with it. The runtime must
 * neither crash nor answer anything but an order or a 503 `Unavailable`, and converge
 * afterwards through the stream.
 */
const servers = privateServers();

faultCase("PostgreSQL restarted under load", 180_000, servers, async (c) => {
  const { runtime } = c;
  await runtime.start();
  const orders = 400;
  let placed = 0;
  const answers: Answer[] = [];
  const load = runLoad({
    url: runtime.url,
    auth: runtime.auth,
    orders,
    concurrency: 8,
    pauseBetweenMs: 10,
    signal: c.signal,
    onAnswer: (answer) => answers.push(answer),
    onPlaced: (n) => void (placed = n),
  });
  await until("120 orders to be placed", () => placed >= 120, 60_000);
  const postmaster = servers().postgres.pid();
  const stopped = Date.now();
  c.figures.placedAtRestart = placed;
  await servers().postgres.restart(2_000);
  c.figures.restartMs = Date.now() - stopped;
  expect(servers().postgres.pid()).not.toBe(postmaster);
  const result = await load;
  const unavailable = answers.filter((a) => a.status === 503);
  c.figures.answers503 = unavailable.length;
  c.figures.healthUnhealthyAnswers = runtime.lifetimes[0]?.unhealthy.length;
  c.figures.healthSaidDown = [...new Set(runtime.lifetimes[0]?.unhealthy.flatMap((u) => u.down))];
  c.figures.healthUnanswered = runtime.lifetimes[0]?.healthErrors.length;
  expect(answers.filter((a) => a.status !== 200 && !(a.status === 503 && a.code === "Unavailable"))).toEqual([]);
  expectLoad(c, result, orders, [200, 503]);
  expect(runtime.lifetimes).toHaveLength(1);
  expect(runtime.alive()).toBe(true);
  await settle(c, { orders });
});
