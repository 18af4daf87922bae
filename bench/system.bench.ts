// The whole system under load, on private servers, one run: baseline and limit straight at
// PostgreSQL, POST /orders end to end, commit-to-view lag under paced load, the CDC stage
// alone (live and burst), resource use, and an exact check of every view after each phase.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import { Pool } from "pg";
import { createDb, createPool, endPool, trackConnections } from "../adapters/postgres/pool";
import { migrateAndSeed } from "../handlers/migrate";
import { startEmbeddedPostgres } from "../local/embedded-postgres";
import { startRedisServer } from "../local/redis-server";
import { runtimeProcess } from "../__tests__/support/runtime-process";
import { burstDrainOf, runCdcLive, writeBurst } from "./system/cdc";
import { renderChart } from "./system/chart";
import { type HttpPoint, runAutocannon, runWrk, wrkVersion } from "./system/http";
import { type LagPoint, runLagPoint } from "./system/lag-point";
import { best, chartRowsOf, coresText, ordersMeasured, REFERENCE_LOADS, reportOf, stealNote, type SystemFigures, tableOf } from "./system/report";
import { startReferencePipeline } from "./system/reference";
import { runSql, sqlDifferences, type SqlKind, type SqlPoint } from "./system/sql";
import { coresBetween, cpuSeconds, machineTimes, peakRssMb, progress, round } from "./system/stats";
import { viewDifferences, watchApplied } from "./system/views";

export interface SystemBenchOptions {
  readonly quick: boolean;
  /** Where latest.json / latest.svg (quick.json / quick.svg in quick mode) go. */
  readonly resultsDir: string;
}

interface Plan {
  readonly sqlConnections: ReadonlyArray<number>;
  readonly sqlMs: number;
  readonly httpConnections: ReadonlyArray<number>;
  readonly httpSeconds: number;
  readonly lagLoads: ReadonlyArray<number>;
  readonly lagSeconds: number;
  readonly cdcWriters: number;
  readonly cdcLiveMs: number;
  readonly burstRows: number;
  readonly convergeMs: number;
}

/** Orders/s of the trickle point, measured first: this machine's lag with almost no load (at most 5% of the maximum). */
const TRICKLE_PER_S = 50;

const FULL: Plan = {
  sqlConnections: [4, 8, 16, 32, 64],
  sqlMs: 3_000,
  httpConnections: [4, 8, 16, 32, 64],
  httpSeconds: 5,
  lagLoads: [25, 50, 75, 100],
  lagSeconds: 8,
  cdcWriters: 8,
  cdcLiveMs: 8_000,
  burstRows: 20_000,
  convergeMs: 60_000,
};

const QUICK: Plan = {
  sqlConnections: [8, 32],
  sqlMs: 1_200,
  httpConnections: [16, 64],
  httpSeconds: 2,
  lagLoads: [25, 50, 75, 100],
  lagSeconds: 2,
  cdcWriters: 8,
  cdcLiveMs: 2_000,
  burstRows: 2_000,
  convergeMs: 30_000,
};

export interface SystemBenchResult {
  readonly report: Record<string, unknown>;
  readonly table: string;
  readonly differences: ReadonlyArray<string>;
}

export const systemBench = async (options: SystemBenchOptions): Promise<SystemBenchResult> => {
  const plan = options.quick ? QUICK : FULL;
  const benchStarted = Date.now();
  const differences: string[] = [];
  const exact: Record<string, number> = {};
  const checked = (phase: string, found: ReadonlyArray<string>) => {
    exact[phase] = found.length;
    differences.push(...found.map((d) => `${phase}: ${d}`));
    progress(`exact check after ${phase}: ${found.length === 0 ? "every view equals the SQL aggregate, outbox empty" : `${found.length} difference(s)\n  ${found.slice(0, 10).join("\n  ")}`}`);
  };
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch((error: unknown) => progress(`cleanup: ${String(error)}`));
  };

  try {
    progress(`${options.quick ? "quick" : "full"} run: starting a private PostgreSQL 16 and redis-server ...`);
    // Commit times, for the lag points to split each order's lag at its commit.
    const [postgres, redisServer] = await Promise.all([startEmbeddedPostgres({ settings: { track_commit_timestamp: "on" } }), startRedisServer()]);
    cleanups.push(() => postgres.stop(), () => redisServer.stop());
    const admin = trackConnections(new Pool({ connectionString: postgres.url, max: 1 }));
    cleanups.push(() => endPool(admin));
    const databaseUrl = (name: string) => {
      const url = new URL(postgres.url);
      url.pathname = `/${name}`;
      return url.toString();
    };
    const serverVersion = (await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version ?? "?";
    const commitTimes = (await admin.query<{ track_commit_timestamp: string }>("SHOW track_commit_timestamp")).rows[0]?.track_commit_timestamp === "on";

    // ---- 1. baseline and limit, straight at PostgreSQL ----
    await admin.query("CREATE DATABASE bench_sql");
    const sqlUrl = databaseUrl("bench_sql");
    {
      const db = createDb(createPool({ connectionString: sqlUrl, max: 1 }));
      await migrateAndSeed(db);
      await db.destroy();
    }
    const sqlPoints: SqlPoint[] = [];
    for (const kind of ["baseline", "limit"] as SqlKind[]) {
      for (const connections of plan.sqlConnections) {
        const point = await runSql(sqlUrl, kind, connections, plan.sqlMs);
        sqlPoints.push(point);
        progress(`${kind.padEnd(8)} ${String(connections).padStart(3)} connections: ${Math.round(point.ordersPerSecond)} orders/s, p99 ${round(point.latencyMs.p99)} ms`);
      }
    }
    checked("sql", await sqlDifferences(sqlUrl));

    // ---- the runtime, as a child process ----
    await admin.query("CREATE DATABASE bench_e2e");
    const e2eUrl = databaseUrl("bench_e2e");
    const dataDir = await mkdtemp(join(tmpdir(), "cqrs-bench-runtime-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const runtime = runtimeProcess({
      databaseUrl: e2eUrl,
      redisUrl: redisServer.url,
      dataDir,
      credentials: { username: "bench", password: randomBytes(12).toString("base64url") },
      env: { LOCAL_RETRY_DELAY_MS: "200", LOCAL_MAX_RETRY_DELAY_MS: "10000" },
    });
    cleanups.push(() => runtime.dispose());
    const watch = await watchApplied(redisServer.url);
    cleanups.push(() => watch.stop());
    progress("starting the runtime (node --import tsx local/main.ts) ...");
    await runtime.start();
    const url = (): string => {
      const current = runtime.url();
      if (current === undefined) throw new Error("the runtime has no URL");
      return current;
    };
    const pidNow = () => runtime.lifetimes[runtime.lifetimes.length - 1]?.pid ?? -1;
    const pool = createPool({ connectionString: e2eUrl, max: 4 });
    const db = createDb(pool);
    cleanups.push(() => endPool(pool));
    const redis = new Redis(redisServer.url);
    redis.on("error", () => undefined);
    cleanups.push(async () => redis.disconnect());

    // ---- 2. end to end: POST /orders, closed loop ----
    // wrk when installed (BENCH_LOAD_GENERATOR=autocannon to compare): the load generator
    // shares the 2 cores with the system, and wrk needs several times less CPU per request.
    const wrk = process.env.BENCH_LOAD_GENERATOR === "autocannon" ? undefined : wrkVersion();
    const closedLoop = wrk === undefined ? runAutocannon : runWrk;
    progress(`closed-loop load generator: ${wrk === undefined ? "autocannon (wrk is not on PATH: apt-get install wrk)" : `wrk ${wrk}`}`);
    await closedLoop(url(), runtime.auth, 8, 1); // warm-up: JIT, pools, prepared plans
    checked("warm-up", await viewDifferences(db, redis, plan.convergeMs));
    const pid = pidNow();
    const cpuBefore = cpuSeconds(pid);
    const machineBefore = machineTimes();
    const httpPoints: HttpPoint[] = [];
    for (const connections of plan.httpConnections) {
      const point = await closedLoop(url(), runtime.auth, connections, plan.httpSeconds);
      httpPoints.push(point);
      progress(
        `e2e      ${String(connections).padStart(3)} connections: ${Math.round(point.ordersPerSecond)} orders/s, ` +
          `p50 ${round(point.latencyMs.p50)} p95 ${round(point.latencyMs.p95)} p99 ${round(point.latencyMs.p99)} ms` +
          (point.non2xx + point.errors > 0 ? `, ${point.non2xx} non-2xx, ${point.errors} errors` : ""),
      );
    }
    const e2eOrders = ordersMeasured(httpPoints);
    // The runtime's CPU includes catching up the views: measured once they are exact again.
    checked("e2e", await viewDifferences(db, redis, plan.convergeMs));
    const cpuAfter = cpuSeconds(pid);
    const e2eCores = coresBetween(machineBefore, machineTimes(), availableParallelism());
    const e2eMax = best(httpPoints).ordersPerSecond;

    // ---- 3. commit-to-view lag under paced, open-loop load ----
    const lagPoints: LagPoint[] = [];
    const lagTarget = { url: url(), auth: runtime.auth, runtimePid: pidNow(), db, watch, commitTimes, convergeMs: plan.convergeMs };
    const lagText = (label: string, point: LagPoint, who: string): string => {
      const { lag, paced } = point;
      return (
        `${label} (${Math.round(paced.targetPerSecond)} orders/s offered, ${Math.round(paced.achievedPerSecond)} answered/s): ` +
        `p50 ${round(lag.p50)} p95 ${round(lag.p95)} p99 ${round(lag.p99)} max ${round(lag.max)} ms over ${lag.count} events` +
        (point.commitToView.count > 0
          ? ` (placed to commit p50 ${round(point.placedToCommit.p50)} p99 ${round(point.placedToCommit.p99)}, commit to view p50 ${round(point.commitToView.p50)} p99 ${round(point.commitToView.p99)})`
          : "") +
        "; " +
        `${coresText(point.cores, availableParallelism())}, ${who} ${point.cpuMsPerOrder === null ? "?" : point.cpuMsPerOrder.toFixed(2)} ms CPU per order` +
        (paced.skipped + paced.failed > 0 ? `, ${paced.skipped} skipped, ${paced.failed} failed` : "") +
        (point.missing > 0 ? `, ${point.missing} never applied` : "")
      );
    };
    const lagPointAt = async (loadPct: number, rate: number, label: string, phase: string): Promise<LagPoint> => {
      const point = await runLagPoint(lagTarget, loadPct, rate, plan.lagSeconds);
      progress(lagText(label, point, "runtime"));
      checked(phase, await viewDifferences(db, redis, plan.convergeMs));
      return point;
    };
    // First a trickle: what the hops cost on this machine when it is nearly idle, for the
    // curve's points to be read against. At most 5% of the maximum on a slow machine (and
    // at least 1 order/s, as every point).
    const floorRate = Math.max(1, Math.min(TRICKLE_PER_S, e2eMax / 20));
    const floorPct = round((100 * floorRate) / e2eMax, 1) ?? 0;
    const lagFloor = await lagPointAt(floorPct, floorRate, `lag at a trickle, ${floorPct}%`, "lag-floor");
    for (const loadPct of plan.lagLoads) {
      const rate = Math.max(1, (e2eMax * loadPct) / 100);
      lagPoints.push(await lagPointAt(loadPct, rate, `lag at ${String(loadPct).padStart(3)}%`, `lag-${loadPct}`));
    }

    // ---- 3b. the lag's reference: the same hops, bare, at the rates of the REFERENCE_LOADS points ----
    // (The runtime idles meanwhile; the reference has a database of its own and writes only
    // applied markers to Redis, of events the system never sees.)
    progress("the lag's reference: a bare pipeline with the same hops (one INSERT per order; pgoutput, one Redis SET per event) ...");
    const referencePoints: LagPoint[] = [];
    try {
      const reference = await startReferencePipeline(admin, databaseUrl, redisServer.url);
      cleanups.push(() => reference.stop());
      const referenceTarget = { url: reference.url, auth: runtime.auth, runtimePid: reference.pid, db: reference.db, watch, commitTimes, convergeMs: plan.convergeMs };
      // Warmed up as long as one point of the e2e sweep: the runtime is warm from the whole sweep.
      await closedLoop(reference.url, runtime.auth, 32, plan.httpSeconds);
      for (const { loadPct, paced } of lagPoints.filter((p) => REFERENCE_LOADS.includes(p.loadPct))) {
        const point = await runLagPoint(referenceTarget, loadPct, paced.targetPerSecond, plan.lagSeconds);
        progress(lagText(`reference at ${String(loadPct).padStart(3)}%`, point, "reference"));
        referencePoints.push(point);
      }
      await reference.stop();
    } catch (error) {
      // A yardstick, not the system: without it the run goes on, and its keys are null.
      progress(`the lag's reference failed, and is left out of this run: ${error instanceof Error ? error.message : String(error)}`);
    }

    // ---- 4a. the CDC stage alone, live: outbox rows written by N writers ----
    const writers = trackConnections(new Pool({ connectionString: e2eUrl, max: plan.cdcWriters }));
    writers.on("error", () => undefined);
    cleanups.push(() => endPool(writers));
    const cdcLive = await runCdcLive(writers, plan.cdcWriters, plan.cdcLiveMs, watch, plan.convergeMs);
    progress(
      `cdc live: ${cdcLive.rows} rows by ${plan.cdcWriters} writers in ${(cdcLive.writtenMs / 1000).toFixed(1)} s ` +
        `(${Math.round((cdcLive.rows * 1000) / cdcLive.writtenMs)} written/s), ${Math.round(cdcLive.deliveredPerSecond)} delivered/s, ` +
        `lag p50 ${round(cdcLive.lag.p50)} p99 ${round(cdcLive.lag.p99)} max ${round(cdcLive.lag.max)} ms` +
        (cdcLive.missing > 0 ? `, ${cdcLive.missing} never applied` : ""),
    );
    checked("cdc-live", await viewDifferences(db, redis, plan.convergeMs));

    // ---- 4b. burst: rows written while the runtime is stopped, then drained at start ----
    const peakFirst = peakRssMb(pidNow());
    await runtime.kill("SIGTERM");
    await runtime.waitExit(30_000);
    const burstIds = await writeBurst(writers, plan.cdcWriters, plan.burstRows);
    progress(`cdc burst: ${burstIds.length} rows written while the runtime is stopped; starting it ...`);
    const spawnedAt = Date.now();
    const machineAtSpawn = machineTimes();
    await runtime.start();
    const burstMissing = await watch.waitFor(burstIds, plan.convergeMs * 2);
    const burstCores = coresBetween(machineAtSpawn, machineTimes(), availableParallelism());
    const burst = burstDrainOf(burstIds, watch.appliedAt, spawnedAt);
    progress(
      `cdc burst: ${burst.applied} events in every view ${burst.allAppliedS.toFixed(1)} s after the start ` +
        `(first after ${burst.firstAppliedS.toFixed(1)} s): ${Math.round(burst.eventsPerSecond)} events/s` +
        `; ${coresText(burstCores, availableParallelism())}` +
        (burstMissing.length > 0 ? `, ${burstMissing.length} never applied` : ""),
    );
    checked("cdc-burst", await viewDifferences(db, redis, plan.convergeMs));
    const peakSecond = peakRssMb(pidNow());

    // ---- report ----
    const peaks = [peakFirst, peakSecond].filter((p): p is number => p !== null);
    const packageJson = JSON.parse(await readFile(resolve(__dirname, "..", "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    const redisInfo = await redis.info("server");
    const figures: SystemFigures = {
      mode: options.quick ? "quick" : "full",
      at: new Date().toISOString(),
      durationS: (Date.now() - benchStarted) / 1000,
      machine: {
        cpus: availableParallelism(),
        cpu_model: cpus()[0]?.model ?? "?",
        memory_gb: round(totalmem() / 2 ** 30, 1),
        kernel: release(),
        node: process.version,
        postgres: serverVersion,
        redis: /redis_version:(\S+)/.exec(redisInfo)?.[1] ?? "?",
        load_generator: `${wrk === undefined ? `autocannon ${packageJson.devDependencies.autocannon ?? "?"}` : `wrk ${wrk}`} (closed loop), raw-socket HTTP/1.1 paced (open loop)`,
      },
      sql: sqlPoints,
      http: httpPoints,
      e2eCores,
      cpuSecondsPer1000: cpuBefore !== null && cpuAfter !== null && e2eOrders > 0 ? ((cpuAfter - cpuBefore) * 1000) / e2eOrders : null,
      lag: lagPoints,
      lagFloor,
      reference: referencePoints,
      cdcWriters: plan.cdcWriters,
      cdcLive,
      burst,
      burstCores,
      peakRssMb: peaks.length > 0 ? Math.max(...peaks) : null,
      exact,
      differences,
    };
    const note = stealNote(figures);
    if (note !== undefined) progress(note);
    const report = reportOf(figures);
    const chart = chartRowsOf(figures);
    const svg = await renderChart(
      `cqrs-outbox ${report.mode} bench, ${report.machine.cpus} CPU(s), ${report.machine.cpu_model}, Node ${process.version}`,
      chart.lag,
      chart.throughput,
    );
    await mkdir(options.resultsDir, { recursive: true });
    const stem = options.quick ? "quick" : "latest";
    await writeFile(join(options.resultsDir, `${stem}.json`), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(options.resultsDir, `${stem}.svg`), svg);
    progress(`wrote ${join(options.resultsDir, `${stem}.json`)} and ${stem}.svg`);
    return { report, table: tableOf(figures), differences };
  } finally {
    await cleanup();
  }
};
