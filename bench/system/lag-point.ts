// One point of the commit-to-view lag curve: an open-loop load paced at a fixed rate, then each
// order it placed timed from its `placed_at` to the moment Redis announced its applied marker,
// and split at its transaction's commit time where the server records it.
import { availableParallelism } from "node:os";
import { type Kysely, sql } from "kysely";
import type { Database } from "../../adapters/postgres/schema";
import { type PacedResult, runPaced } from "./paced";
import { type Cores, coresBetween, cpuSeconds, machineTimes, type Percentiles, percentiles } from "./stats";
import type { AppliedWatch } from "./views";

export interface LagPoint {
  readonly loadPct: number;
  readonly paced: PacedResult;
  readonly lag: Percentiles;
  /**
   * The lag split at the commit (`pg_xact_commit_timestamp`, with `track_commit_timestamp`
   * on; empty, count 0, without): the command side's part (the order's read, its write's
   * wait for a statement, the write, the commit) and the CDC pipeline's (the WAL, the
   * tailer, the visibility check, the pipe, the projection, Redis, the bench hearing it).
   */
  readonly placedToCommit: Percentiles;
  readonly commitToView: Percentiles;
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
  /** Whether the server records commit times (`track_commit_timestamp`): then the lag is split at the commit. */
  readonly commitTimes: boolean;
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
    // Microseconds since the epoch, as text: a Date would cut them to milliseconds.
    .select(
      target.commitTimes
        ? sql<string | null>`(extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint::text`.as("committed_us")
        : sql<string | null>`NULL::text`.as("committed_us"),
    )
    .where("placed_at", ">=", new Date(paced.startedAtMs - 50))
    .execute();
  const orders = placed.map((o) => ({
    eventId: o.event_id.toLowerCase(),
    placedAtMs: o.placed_at.getTime(),
    committedAtMs: o.committed_us === null ? undefined : Number(o.committed_us) / 1000,
  }));
  const missing = await target.watch.waitFor(
    orders.map((o) => o.eventId),
    target.convergeMs,
  );
  const cores = coresBetween(machineAtStart, machineTimes(), availableParallelism());
  const cpuAtEnd = cpuSeconds(target.runtimePid);
  const lags: number[] = [];
  const toCommit: number[] = [];
  const toView: number[] = [];
  for (const o of orders) {
    const at = target.watch.appliedAt.get(o.eventId);
    if (at === undefined) continue;
    lags.push(at - o.placedAtMs);
    if (o.committedAtMs === undefined) continue;
    toCommit.push(o.committedAtMs - o.placedAtMs);
    toView.push(at - o.committedAtMs);
  }
  return {
    loadPct,
    paced,
    lag: percentiles(lags),
    placedToCommit: percentiles(toCommit),
    commitToView: percentiles(toView),
    missing: missing.length,
    cores,
    cpuMsPerOrder: cpuAtStart !== null && cpuAtEnd !== null && orders.length > 0 ? ((cpuAtEnd - cpuAtStart) * 1000) / orders.length : null,
  };
};
