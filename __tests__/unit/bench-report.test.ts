import type { LagPoint } from "../../bench/system/lag-point";
import { chartRowsOf, REFERENCE_SERIES, reportOf, stealNote, type SystemFigures, tableOf } from "../../bench/system/report";
import { percentiles } from "../../bench/system/stats";

const latency = percentiles([1, 2, 3, 4]);
const sqlPoint = (kind: "baseline" | "limit", connections: number, ordersPerSecond: number) => ({ kind, connections, orders: ordersPerSecond * 3, ordersPerSecond, latencyMs: latency });
const httpPoint = (connections: number, ordersPerSecond: number) => ({ connections, orders: ordersPerSecond * 5, ordersPerSecond, non2xx: 1, errors: 0, latencyMs: latency });
/** A point whose lag splits at the commit: the first half of each lag before it, the rest after (none when told so). */
const lagPoint = (loadPct: number, lags: number[], cores: LagPoint["cores"], commitTimes = true): LagPoint => ({
  loadPct,
  paced: { targetPerSecond: 10 * loadPct, sent: 100, ok: 100, failed: 0, skipped: 0, achievedPerSecond: 10 * loadPct, latencyMs: latency, startedAtMs: 0 },
  lag: percentiles(lags),
  placedToCommit: percentiles(commitTimes ? lags.map((l) => l / 2) : []),
  commitToView: percentiles(commitTimes ? lags.map((l) => l / 2) : []),
  missing: 0,
  cores,
  cpuMsPerOrder: cores === null ? null : 1.5,
});

const figures = (overrides: Partial<SystemFigures> = {}): SystemFigures => ({
  mode: "quick",
  at: "2026-12-03T10:00:00.000Z",
  durationS: 29.84,
  machine: { cpus: 2, cpu_model: "test", memory_gb: 1, kernel: "k", node: "v20", postgres: "16", redis: "7", load_generator: "wrk" },
  sql: [sqlPoint("baseline", 8, 900), sqlPoint("baseline", 32, 1000), sqlPoint("limit", 8, 4000), sqlPoint("limit", 32, 3000)],
  http: [httpPoint(16, 1500), httpPoint(64, 2000)],
  e2eCores: { busy: 1.7, steal: 0.01 },
  cpuSecondsPer1000: 0.75,
  lag: [lagPoint(25, [2, 4, 6, 8], { busy: 1.5, steal: 0.1 }), lagPoint(50, [], null)],
  lagFloor: lagPoint(2.5, [1, 3], { busy: 0.5, steal: 0 }),
  reference: [lagPoint(50, [1, 2], { busy: 0.8, steal: 0 })],
  cdcWriters: 8,
  cdcLive: { rows: 4000, writtenMs: 2000, deliveredPerSecond: 1900.4, lag: percentiles([100, 200]), missing: 0 },
  burst: { rows: 2000, applied: 2000, eventsPerSecond: 4899.6, firstAppliedS: 2.01, allAppliedS: 2.4 },
  burstCores: { busy: 1.57, steal: 0.03 },
  peakRssMb: 350.4,
  exact: { sql: 0, e2e: 0 },
  differences: [],
  ...overrides,
});

describe("the system bench's report (bench/results/*.json, the table, the chart rows)", () => {
  it("keeps the stable keys, with the best point of each sweep and the ratios between them", () => {
    const report = reportOf(figures());
    expect(Object.keys(report)).toEqual(["mode", "at", "duration_s", "machine", "baseline", "limit", "e2e", "lag", "cdc", "exact", "resources", "sweep"]);
    expect(report.baseline).toMatchObject({ orders_per_s: 1000, connections: 32 });
    expect(report.limit).toMatchObject({ orders_per_s: 4000, connections: 8 });
    expect(report.e2e).toMatchObject({ orders_per_s: 2000, connections: 64, ratio_to_baseline: 2, ratio_to_limit: 0.5, machine_busy_cores: 1.7, non_2xx: 2 });
    expect(report.lag).toMatchObject({ p50_ms_at_25pct: 4, p99_ms_at_25pct: 8, p99_ms_at_50pct: null });
    expect(report.lag.points[0]).toMatchObject({ load_pct: 25, events: 4, machine_busy_cores: 1.5, machine_steal_cores: 0.1, runtime_cpu_ms_per_order: 1.5 });
    // Split at the commit: here half of each lag on either side of it.
    expect(report.lag).toMatchObject({ commit_to_view_p50_ms_at_25pct: 2, commit_to_view_p99_ms_at_25pct: 4, commit_to_view_p99_ms_at_50pct: null });
    expect(report.lag.points[0]).toMatchObject({ placed_to_commit: { p50_ms: 2, p99_ms: 4 }, commit_to_view: { p50_ms: 2, p95_ms: 4, p99_ms: 4, max_ms: 4 } });
    expect(report.lag.points[1]).toMatchObject({ load_pct: 50, events: 0, machine_busy_cores: null, runtime_cpu_ms_per_order: null });
    expect(report.lag.points).toHaveLength(2);
    expect(report.lag).toMatchObject({ floor_per_s: 25, p50_ms_at_floor: 1, p99_ms_at_floor: 3, max_ms_at_floor: 3 });
    expect(report.lag.floor).toMatchObject({ load_pct: 2.5, offered_per_s: 25, events: 2, machine_busy_cores: 0.5 });
    const withoutFloor = reportOf(figures({ lagFloor: null })).lag;
    expect(Object.keys(withoutFloor)).toEqual(Object.keys(report.lag));
    expect(withoutFloor).toMatchObject({ floor_per_s: null, p50_ms_at_floor: null, p99_ms_at_floor: null, floor: null });
    // The reference's keys are there, measured or not; the ratio needs both p99s.
    expect(report.lag).toMatchObject({ reference_p50_ms_at_50pct: 1, reference_p99_ms_at_50pct: 2, reference_max_ms_at_50pct: 2, p99_ratio_to_reference_at_50pct: null });
    expect(report.lag.reference).toHaveLength(1);
    expect(report.lag.reference[0]).toMatchObject({ load_pct: 50, offered_per_s: 500, events: 2, machine_busy_cores: 0.8, reference_cpu_ms_per_order: 1.5 });
    expect(report.lag.reference[0]).not.toHaveProperty("runtime_cpu_ms_per_order");
    const withoutReference = reportOf(figures({ reference: [] })).lag;
    expect(Object.keys(withoutReference)).toEqual(Object.keys(report.lag));
    expect(withoutReference).toMatchObject({ reference_p99_ms_at_50pct: null, reference: [] });
    expect(report.cdc).toMatchObject({ live_rows_per_s: 1900, live_written_per_s: 2000, burst_events_per_s: 4900, burst_all_applied_s: 2.4, burst_machine_busy_cores: 1.57 });
    expect(report.exact).toEqual({ view_differences: 0, per_phase: { sql: 0, e2e: 0 }, details: [] });
    expect(report.resources).toEqual({ cpu_s_per_1000_orders: 0.75, peak_rss_mb: 350, e2e_orders_measured: 17_500 });
  });

  it("gives how many times the reference's p99 this system's is, when both were measured", () => {
    const lag = [lagPoint(50, [10, 20, 40], { busy: 1.8, steal: 0 }), lagPoint(100, [50, 100], { busy: 1.9, steal: 0 })];
    const report = reportOf(figures({ lag, reference: [lagPoint(50, [2, 4], { busy: 0.9, steal: 0 })] })).lag;
    expect(report).toMatchObject({ p99_ms_at_50pct: 40, reference_p99_ms_at_50pct: 4, p99_ratio_to_reference_at_50pct: 10 });
    expect(Object.keys(report).filter((key) => key.includes("reference"))).toEqual([
      "reference_p50_ms_at_50pct",
      "reference_p95_ms_at_50pct",
      "reference_p99_ms_at_50pct",
      "reference_max_ms_at_50pct",
      "p99_ratio_to_reference_at_50pct",
      "reference",
    ]);
    expect(reportOf(figures({ lag, reference: [lagPoint(50, [], null)] })).lag).toMatchObject({ reference_p99_ms_at_50pct: null, p99_ratio_to_reference_at_50pct: null });
  });

  it("keeps the split's keys, null, when the server recorded no commit times", () => {
    const lag = [lagPoint(25, [2, 4, 6, 8], { busy: 1.5, steal: 0.1 }, false)];
    const report = reportOf(figures({ lag })).lag;
    expect(Object.keys(report)).toEqual(Object.keys(reportOf(figures({ lag: [lagPoint(25, [2, 4], null)] })).lag));
    expect(report).toMatchObject({ p99_ms_at_25pct: 8, commit_to_view_p50_ms_at_25pct: null, commit_to_view_p99_ms_at_25pct: null });
    expect(report.points[0]).toMatchObject({ p99_ms: 8, placed_to_commit: { p50_ms: null, p99_ms: null }, commit_to_view: { p50_ms: null, max_ms: null } });
    const row = tableOf(figures({ lag })).split("\n").find((r) => r.includes("lag at 25%"));
    expect(row).toMatch(/\| 4\.0 \/ 8\.0 \/ 8\.0 \/ 8\.0 ms; 1\.50 busy/);
    expect(row).not.toMatch(/from the commit/);
  });

  it("counts every difference, and lists the first fifty", () => {
    const differences = Array.from({ length: 60 }, (_, i) => `lag-25: client ${i}: Redis none != SQL [...]`);
    const report = reportOf(figures({ differences }));
    expect(report.exact.view_differences).toBe(60);
    expect(report.exact.details).toHaveLength(50);
    expect(tableOf(figures({ differences }))).toMatch(/\| exact: view differences \(every phase\)\s*\| 60 \|/);
  });

  it("writes one table row per figure, with a dash where nothing was measured", () => {
    const table = tableOf(figures()).split("\n");
    expect(table.slice(0, 2)).toEqual(["| measure | result |", "| --- | --- |"]);
    expect(table).toHaveLength(2 + 13);
    expect(table.find((row) => row.includes("lag at a trickle"))).toMatch(/lag at a trickle, 2\.5% \(25\/s\) p50 \/ p95 \/ p99 \/ max\s*\| 1\.0 \/ 3\.0 \/ 3\.0 \/ 3\.0 ms; from the commit p50 0\.5 \/ p99 1\.5 ms; 0\.50 busy/);
    expect(tableOf(figures({ lagFloor: null })).split("\n")).toHaveLength(2 + 12);
    expect(tableOf(figures({ reference: [] })).split("\n")).toHaveLength(2 + 12);
    expect(table.find((row) => row.includes("reference"))).toMatch(
      /reference \(the hops, bare\) at 50% \(500\/s\) p50 \/ p95 \/ p99 \/ max\s*\| 1\.0 \/ 2\.0 \/ 2\.0 \/ 2\.0 ms; from the commit p50 0\.5 \/ p99 1\.0 ms; 0\.80 busy \+ 0\.00 stolen of 2 cores, reference 1\.50 ms CPU\/order/,
    );
    expect(table.find((row) => row.includes("lag at 25%"))).toMatch(/\| 4\.0 \/ 8\.0 \/ 8\.0 \/ 8\.0 ms; from the commit p50 2\.0 \/ p99 4\.0 ms; 1\.50 busy \+ 0\.10 stolen of 2 cores, runtime 1\.50 ms CPU\/order/);
    expect(table.find((row) => row.includes("lag at 50%"))).toMatch(/- \/ - \/ - \/ - ms; machine load unknown/);
    expect(table.find((row) => row.includes("e2e ratio"))).toMatch(/2\.000 \/ 0\.500/);
  });

  it("notes a run whose phases a neighbour stole more than a tenth of the CPUs from", () => {
    expect(stealNote(figures())).toBeUndefined();
    expect(stealNote(figures({ burstCores: { busy: 1, steal: 0.2 } }))).toBeUndefined();
    expect(stealNote(figures({ burstCores: { busy: 1, steal: 0.75 } }))).toMatch(/up to 0\.75 of 2 cores \(steal\) during the burst:/);
    expect(stealNote(figures({ e2eCores: { busy: 1, steal: 0.5 } }))).toMatch(/up to 0\.50 of 2 cores \(steal\) during the e2e sweep:/);
    expect(stealNote(figures({ lagFloor: lagPoint(2.5, [1], { busy: 0.4, steal: 0.3 }) }))).toMatch(/up to 0\.30 of 2 cores \(steal\) during the lag at a trickle:/);
    expect(stealNote(figures({ reference: [lagPoint(50, [1], { busy: 0.9, steal: 0.4 })] }))).toMatch(/up to 0\.40 of 2 cores \(steal\) during the reference at 50%:/);
    expect(stealNote(figures({ e2eCores: { busy: 1, steal: 0.3 }, burstCores: { busy: 1, steal: 0.5 } }))).toMatch(/up to 0\.50 of 2 cores \(steal\) during the e2e sweep, the burst:/);
  });

  it("charts each measured percentile against load, and each sweep point against connections", () => {
    const rows = chartRowsOf(figures());
    expect(rows.lag).toEqual([
      { load_pct: 2.5, percentile: "p50", ms: 1 },
      { load_pct: 2.5, percentile: "p95", ms: 3 },
      { load_pct: 2.5, percentile: "p99", ms: 3 },
      { load_pct: 2.5, percentile: "max", ms: 3 },
      { load_pct: 25, percentile: "p50", ms: 4 },
      { load_pct: 25, percentile: "p95", ms: 8 },
      { load_pct: 25, percentile: "p99", ms: 8 },
      { load_pct: 25, percentile: "max", ms: 8 },
      { load_pct: 50, percentile: REFERENCE_SERIES, ms: 2 },
    ]);
    expect(rows.throughput.map((r) => `${r.series}@${r.connections}`)).toEqual(["baseline@8", "baseline@32", "limit@8", "limit@32", "e2e@16", "e2e@64"]);
  });
});
