// What one system bench run found, as latest.json (stable keys), the console table and the
// chart's rows. Pure: every figure is measured before, so this can be read and tested alone.
import type { BurstDrain, CdcLive } from "./cdc";
import type { LagRow, ThroughputRow } from "./chart";
import type { HttpPoint } from "./http";
import type { LagPoint } from "./lag-point";
import type { SqlPoint } from "./sql";
import { type Cores, type Percentiles, round } from "./stats";

export interface MachineInfo {
  readonly cpus: number;
  readonly cpu_model: string;
  readonly memory_gb: number | null;
  readonly kernel: string;
  readonly node: string;
  readonly postgres: string;
  readonly redis: string;
  readonly load_generator: string;
}

export interface SystemFigures {
  readonly mode: "quick" | "full";
  readonly at: string;
  readonly durationS: number;
  readonly machine: MachineInfo;
  readonly sql: ReadonlyArray<SqlPoint>;
  readonly http: ReadonlyArray<HttpPoint>;
  readonly e2eCores: Cores | null;
  /** Runtime CPU seconds per 1000 orders over the closed-loop sweep and its catching up. */
  readonly cpuSecondsPer1000: number | null;
  /** The lag curve, at the shares of the end-to-end maximum. */
  readonly lag: ReadonlyArray<LagPoint>;
  /** The lag at a trickle of orders: the machine's floor for every point of the curve. */
  readonly lagFloor: LagPoint | null;
  /**
   * The reference pipeline's lag (bench/system/reference-process.ts: the same hops, bare) at
   * the rates of the curve's REFERENCE_LOADS points; its `cpuMsPerOrder` is its own process's.
   */
  readonly reference: ReadonlyArray<LagPoint>;
  readonly cdcWriters: number;
  readonly cdcLive: CdcLive;
  readonly burst: BurstDrain;
  readonly burstCores: Cores | null;
  readonly peakRssMb: number | null;
  /** View differences per phase, and the first of them. */
  readonly exact: Readonly<Record<string, number>>;
  readonly differences: ReadonlyArray<string>;
}

/** Steal above this share of the CPUs in a measured phase makes its speed figures a neighbour's, not this system's. */
const NOISY_STEAL_SHARE = 0.1;

/**
 * The curve's points at whose rates the reference pipeline is measured too. Not at 100%: the
 * reference makes one transaction per order (it has no group commit), and at the system's
 * maximum it could not take the rate (2200 answers/s of 3085 offered, a full run on 2026-12-04).
 */
export const REFERENCE_LOADS: ReadonlyArray<number> = [50];

/** Orders placed over the closed-loop sweep: what the runtime's CPU is shared by. */
export const ordersMeasured = (http: ReadonlyArray<HttpPoint>): number => http.reduce((sum, p) => sum + p.orders, 0);

/** The point of a sweep with the most orders/s. */
export const best = <T extends { ordersPerSecond: number }>(points: ReadonlyArray<T>): T => {
  const [first, ...rest] = points;
  if (first === undefined) throw new Error("a bench phase measured no point");
  return rest.reduce((a, b) => (b.ordersPerSecond > a.ordersPerSecond ? b : a), first);
};

/** The best baseline, limit and end-to-end points of the sweeps. */
export const bestPoints = (figures: SystemFigures) => ({
  baseline: best(figures.sql.filter((p) => p.kind === "baseline")),
  limit: best(figures.sql.filter((p) => p.kind === "limit")),
  e2e: best(figures.http),
});

const ms = (p: Percentiles) => ({ p50_ms: round(p.p50), p95_ms: round(p.p95), p99_ms: round(p.p99), max_ms: round(p.max) });

/** "1.62 busy + 0.05 stolen of 2 cores": this machine's work, and the hypervisor's share given to other guests. */
export const coresText = (cores: Cores | null, cpus: number): string =>
  cores === null ? "machine load unknown (no /proc/stat)" : `${cores.busy.toFixed(2)} busy + ${cores.steal.toFixed(2)} stolen of ${cpus} cores`;

/** A note when a neighbour took enough of the machine to lower this run's speed figures. */
export const stealNote = (figures: SystemFigures): string | undefined => {
  const phases: Array<[string, Cores | null]> = [
    ["the e2e sweep", figures.e2eCores],
    ["the lag at a trickle", figures.lagFloor?.cores ?? null],
    ...figures.lag.map((p): [string, Cores | null] => [`the lag at ${p.loadPct}%`, p.cores]),
    ...figures.reference.map((p): [string, Cores | null] => [`the reference at ${p.loadPct}%`, p.cores]),
    ["the burst", figures.burstCores],
  ];
  const noisy = phases.filter(([, cores]) => cores !== null && cores.steal > NOISY_STEAL_SHARE * figures.machine.cpus);
  if (noisy.length === 0) return undefined;
  const worst = Math.max(...noisy.map(([, cores]) => cores?.steal ?? 0));
  return (
    `note: the hypervisor gave other guests up to ${worst.toFixed(2)} of ${figures.machine.cpus} cores (steal) during ${noisy.map(([name]) => name).join(", ")}: ` +
    "their figures are worse than this machine's when it is quiet; the exact checks hold all the same"
  );
};

const lagPointReport = (p: LagPoint, cpuKey = "runtime_cpu_ms_per_order") => ({
  load_pct: p.loadPct,
  offered_per_s: round(p.paced.targetPerSecond, 0),
  answered_per_s: round(p.paced.achievedPerSecond, 0),
  events: p.lag.count,
  never_applied: p.missing,
  skipped: p.paced.skipped,
  failed: p.paced.failed,
  ...ms(p.lag),
  // The lag split at the commit (null without the server's commit times).
  placed_to_commit: ms(p.placedToCommit),
  commit_to_view: ms(p.commitToView),
  http: ms(p.paced.latencyMs),
  machine_busy_cores: round(p.cores?.busy ?? null),
  machine_steal_cores: round(p.cores?.steal ?? null),
  [cpuKey]: round(p.cpuMsPerOrder),
});

/** bench/results/latest.json. Its keys are stable: other runs and tools compare them. */
export const reportOf = (figures: SystemFigures) => {
  const { baseline, limit, e2e } = bestPoints(figures);
  const { cdcLive, burst, lagFloor: floor } = figures;
  const at = (points: ReadonlyArray<LagPoint>, loadPct: number) => points.find((p) => p.loadPct === loadPct);
  return {
    mode: figures.mode,
    at: figures.at,
    duration_s: round(figures.durationS, 1),
    machine: figures.machine,
    baseline: { orders_per_s: round(baseline.ordersPerSecond, 0), connections: baseline.connections, ...ms(baseline.latencyMs) },
    limit: { orders_per_s: round(limit.ordersPerSecond, 0), connections: limit.connections, ...ms(limit.latencyMs) },
    e2e: {
      orders_per_s: round(e2e.ordersPerSecond, 0),
      connections: e2e.connections,
      ratio_to_baseline: round(e2e.ordersPerSecond / baseline.ordersPerSecond, 3),
      ratio_to_limit: round(e2e.ordersPerSecond / limit.ordersPerSecond, 3),
      ...ms(e2e.latencyMs),
      machine_busy_cores: round(figures.e2eCores?.busy ?? null),
      machine_steal_cores: round(figures.e2eCores?.steal ?? null),
      non_2xx: figures.http.reduce((s, p) => s + p.non2xx, 0),
      errors: figures.http.reduce((s, p) => s + p.errors, 0),
    },
    lag: {
      ...Object.fromEntries(
        figures.lag.flatMap((p) => [
          [`p50_ms_at_${p.loadPct}pct`, round(p.lag.p50)],
          [`p95_ms_at_${p.loadPct}pct`, round(p.lag.p95)],
          [`p99_ms_at_${p.loadPct}pct`, round(p.lag.p99)],
          [`max_ms_at_${p.loadPct}pct`, round(p.lag.max)],
          [`commit_to_view_p50_ms_at_${p.loadPct}pct`, round(p.commitToView.p50)],
          [`commit_to_view_p99_ms_at_${p.loadPct}pct`, round(p.commitToView.p99)],
        ]),
      ),
      // Always present, null when the run measured no trickle: the keys are stable.
      floor_per_s: floor === null ? null : round(floor.paced.targetPerSecond, 0),
      p50_ms_at_floor: round(floor?.lag.p50 ?? null),
      p95_ms_at_floor: round(floor?.lag.p95 ?? null),
      p99_ms_at_floor: round(floor?.lag.p99 ?? null),
      max_ms_at_floor: round(floor?.lag.max ?? null),
      // The reference's, at the same rates (always present, null where not measured), and
      // how many times its p99 this system's is.
      ...Object.fromEntries(
        REFERENCE_LOADS.flatMap((loadPct) => {
          const reference = at(figures.reference, loadPct);
          const own = at(figures.lag, loadPct)?.lag.p99 ?? null;
          const bare = reference?.lag.p99 ?? null;
          return [
            [`reference_p50_ms_at_${loadPct}pct`, round(reference?.lag.p50 ?? null)],
            [`reference_p95_ms_at_${loadPct}pct`, round(reference?.lag.p95 ?? null)],
            [`reference_p99_ms_at_${loadPct}pct`, round(bare)],
            [`reference_max_ms_at_${loadPct}pct`, round(reference?.lag.max ?? null)],
            [`p99_ratio_to_reference_at_${loadPct}pct`, own === null || bare === null || bare <= 0 ? null : round(own / bare)],
          ];
        }),
      ),
      points: figures.lag.map((p) => lagPointReport(p)),
      floor: floor === null ? null : lagPointReport(floor),
      reference: figures.reference.map((p) => lagPointReport(p, "reference_cpu_ms_per_order")),
    },
    cdc: {
      live_rows_per_s: round(cdcLive.deliveredPerSecond, 0),
      live_written_per_s: round((cdcLive.rows * 1000) / cdcLive.writtenMs, 0),
      live_rows: cdcLive.rows,
      live_writers: figures.cdcWriters,
      live_lag: ms(cdcLive.lag),
      burst_rows: burst.rows,
      burst_events_per_s: round(burst.eventsPerSecond, 0),
      burst_first_applied_s: round(burst.firstAppliedS, 2),
      burst_all_applied_s: round(burst.allAppliedS, 2),
      burst_machine_busy_cores: round(figures.burstCores?.busy ?? null),
      burst_machine_steal_cores: round(figures.burstCores?.steal ?? null),
    },
    exact: { view_differences: figures.differences.length, per_phase: figures.exact, details: figures.differences.slice(0, 50) },
    resources: {
      cpu_s_per_1000_orders: round(figures.cpuSecondsPer1000, 3),
      peak_rss_mb: round(figures.peakRssMb, 0),
      e2e_orders_measured: ordersMeasured(figures.http),
    },
    sweep: {
      sql: figures.sql.map((p) => ({ kind: p.kind, connections: p.connections, orders_per_s: round(p.ordersPerSecond, 0), ...ms(p.latencyMs) })),
      e2e: figures.http.map((p) => ({ connections: p.connections, orders_per_s: round(p.ordersPerSecond, 0), non_2xx: p.non2xx, errors: p.errors, ...ms(p.latencyMs) })),
    },
  };
};

const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits));

/** The console table (also the README's): one row per figure a person compares. */
export const tableOf = (figures: SystemFigures): string => {
  const { baseline, limit, e2e } = bestPoints(figures);
  const cpus = figures.machine.cpus;
  const { cdcLive, burst } = figures;
  const lagRow = (label: string, p: LagPoint, who = "runtime"): [string, string] => [
    `${label} (${fmt(p.paced.targetPerSecond, 0)}/s) p50 / p95 / p99 / max`,
    `${fmt(p.lag.p50)} / ${fmt(p.lag.p95)} / ${fmt(p.lag.p99)} / ${fmt(p.lag.max)} ms` +
      (p.commitToView.count > 0 ? `; from the commit p50 ${fmt(p.commitToView.p50)} / p99 ${fmt(p.commitToView.p99)} ms` : "") +
      `; ${coresText(p.cores, cpus)}, ${who} ${fmt(p.cpuMsPerOrder, 2)} ms CPU/order`,
  ];
  const rows: Array<[string, string]> = [
    ["baseline: order-store statements, raw pg (best of sweep)", `${fmt(baseline.ordersPerSecond, 0)} orders/s at ${baseline.connections} conn, p99 ${fmt(baseline.latencyMs.p99)} ms`],
    ["limit: one prepared statement (best of sweep)", `${fmt(limit.ordersPerSecond, 0)} orders/s at ${limit.connections} conn, p99 ${fmt(limit.latencyMs.p99)} ms`],
    ["e2e: POST /orders through the runtime (best of sweep)", `${fmt(e2e.ordersPerSecond, 0)} orders/s at ${e2e.connections} conn`],
    ["e2e latency p50 / p95 / p99", `${fmt(e2e.latencyMs.p50)} / ${fmt(e2e.latencyMs.p95)} / ${fmt(e2e.latencyMs.p99)} ms; ${coresText(figures.e2eCores, cpus)}`],
    ["e2e ratio to baseline / to limit", `${fmt(e2e.ordersPerSecond / baseline.ordersPerSecond, 3)} / ${fmt(e2e.ordersPerSecond / limit.ordersPerSecond, 3)}`],
    ...(figures.lagFloor === null ? [] : [lagRow(`lag at a trickle, ${figures.lagFloor.loadPct}%`, figures.lagFloor)]),
    ...figures.lag.map((p) => lagRow(`lag at ${p.loadPct}%`, p)),
    ...figures.reference.map((p) => lagRow(`reference (the hops, bare) at ${p.loadPct}%`, p, "reference")),
    [`cdc live: rows/s delivered (${figures.cdcWriters} writers), lag p50 / p99`, `${fmt(cdcLive.deliveredPerSecond, 0)} rows/s, ${fmt(cdcLive.lag.p50)} / ${fmt(cdcLive.lag.p99)} ms`],
    [`cdc burst: ${burst.rows} rows drained after a start`, `${fmt(burst.eventsPerSecond, 0)} events/s, all in ${fmt(burst.allAppliedS, 2)} s`],
    ["runtime CPU per 1000 orders / peak RSS", `${fmt(figures.cpuSecondsPer1000, 2)} s / ${fmt(figures.peakRssMb, 0)} MiB`],
    ["exact: view differences (every phase)", String(figures.differences.length)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return ["| measure | result |", "| --- | --- |", ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`)].join("\n");
};

/** The lag panel's series of the reference pipeline's p99 (after the percentiles, which the chart sorts first). */
export const REFERENCE_SERIES = "p99, the hops bare";

/** The chart's rows: lag percentiles against load, and orders/s against connections. */
export const chartRowsOf = (figures: SystemFigures): { lag: LagRow[]; throughput: ThroughputRow[] } => ({
  lag: [
    ...[...(figures.lagFloor === null ? [] : [figures.lagFloor]), ...figures.lag].flatMap((p) =>
      (["p50", "p95", "p99", "max"] as const).flatMap((key) => {
        const value = p.lag[key];
        return value === null ? [] : [{ load_pct: p.loadPct, percentile: key, ms: value }];
      }),
    ),
    ...figures.reference.flatMap((p) => (p.lag.p99 === null ? [] : [{ load_pct: p.loadPct, percentile: REFERENCE_SERIES, ms: p.lag.p99 }])),
  ],
  throughput: [
    ...figures.sql.map((p) => ({ connections: p.connections, series: p.kind, orders_per_s: p.ordersPerSecond })),
    ...figures.http.map((p) => ({ connections: p.connections, series: "e2e", orders_per_s: p.ordersPerSecond })),
  ],
});
