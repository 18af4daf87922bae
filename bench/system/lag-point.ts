// One point of the commit-to-view lag curve: an open-loop load paced at a fixed rate, then each
// order it placed timed from its `placed_at` to the moment Redis announced its applied marker.
import { availableParallelism } from "node:os";
import type { Kysely } from "kysely";
import type { Database } from "../../adapters/postgres/schema";
import { type PacedResult, runPaced } from "./paced";
import { type Cores, coresBetween, cpuSeconds, machineTimes, type Percentiles, percentiles } from "./stats";
import type { AppliedWatch } from "./views";

export interface LagPoint {
  readonly loadPct: number;
  readonly paced: PacedResult;
  readonly lag: Percentiles;
  /** Orders placed whose applied marker was not heard within the wait. */
  readonly missing: number;
  /**
   * How busy the whole machine was (every process), and what the runtime spent per order,
   * from the first send until every view had the events: lag climbs with the machine's load,
   * and paced orders batch less than a closed loop's.
   */
  readonly cores: Cores | null;
  readonly cpuMsPerOrder: number | null;
}

/** The running system one point is measured against. */
export interface LagTarget {
  readonly url: string;
  readonly auth: string;
  readonly runtimePid: number;
  readonly db: Kysely<Database>;
  readonly watch: AppliedWatch;
  /** How long to wait for the last views after the load stops. */
  readonly convergeMs: number;
}

export const runLagPoint = async (target: LagTarget, loadPct: number, rate: number, seconds: number): Promise<LagPoint> => {
  // The events timed here are placed from now on (give or take the clock's 50 ms below):
  // what was heard more than a second ago is done with.
  target.watch.forgetHeardBefore(Date.now() - 1_000);
  const machineAtStart = machineTimes();
  const cpuAtStart = cpuSeconds(target.runtimePid);
  const paced = await runPaced(target.url, target.auth, rate, seconds);
  const placed = await target.db
    .selectFrom("order")
    .select(["event_id", "placed_at"])
    .where("placed_at", ">=", new Date(paced.startedAtMs - 50))
    .execute();
  const orders = placed.map((o) => ({ eventId: o.event_id.toLowerCase(), placedAtMs: o.placed_at.getTime() }));
  const missing = await target.watch.waitFor(
    orders.map((o) => o.eventId),
    target.convergeMs,
  );
  const cores = coresBetween(machineAtStart, machineTimes(), availableParallelism());
  const cpuAtEnd = cpuSeconds(target.runtimePid);
  const lags = orders.flatMap((o) => {
    const at = target.watch.appliedAt.get(o.eventId);
    return at === undefined ? [] : [at - o.placedAtMs];
  });
  return {
    loadPct,
    paced,
    lag: percentiles(lags),
    missing: missing.length,
    cores,
    cpuMsPerOrder: cpuAtStart !== null && cpuAtEnd !== null && orders.length > 0 ? ((cpuAtEnd - cpuAtStart) * 1000) / orders.length : null,
  };
};
