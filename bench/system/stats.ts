// What the bench reads off samples, processes and the machine: percentiles, a process's CPU
// seconds and peak memory (/proc/<pid>), the CPUs' busy and stolen time (/proc/stat), and progress.
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

/** Percentiles of a sample (nearest rank), in the sample's unit; all null for an empty one. */
export interface Percentiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly count: number;
}

export const percentiles = (sample: ReadonlyArray<number>): Percentiles => {
  if (sample.length === 0) return { p50: null, p95: null, p99: null, max: null, count: 0 };
  const sorted = Float64Array.from(sample).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] as number, count: sorted.length };
};

/** Rounded for the report: 3 significant figures at most, integers kept whole. */
export const round = (value: number | null, digits = 2): number | null =>
  value === null || !Number.isFinite(value) ? null : Math.round(value * 10 ** digits) / 10 ** digits;

let clockTicks: number | undefined;
const ticksPerSecond = (): number => {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
};

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; null without /proc. */
export const cpuSeconds = (pid: number): number | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / ticksPerSecond();
  } catch {
    return null;
  }
};

/**
 * What every CPU of the machine did so far, in clock ticks, from the first line of
 * /proc/stat (`cpu  user nice system idle iowait irq softirq steal ...`): `busy` is work of
 * this machine (user, nice, system, irq, softirq), `steal` time the hypervisor gave another
 * guest, `total` everything including idle. Null when the text is not such a line.
 */
export interface MachineTimes {
  readonly busy: number;
  readonly steal: number;
  readonly total: number;
}

export const parseProcStat = (text: string): MachineTimes | null => {
  const line = text.split("\n", 1)[0] ?? "";
  const [label, ...rest] = line.trim().split(/\s+/);
  const fields = rest.map(Number);
  if (label !== "cpu" || fields.length < 8 || fields.some((f) => !Number.isInteger(f) || f < 0)) return null;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields as [number, number, number, number, number, number, number, number];
  const busy = user + nice + system + irq + softirq;
  return { busy, steal, total: busy + steal + idle + iowait };
};

/** The machine's CPU times now; null without /proc. */
export const machineTimes = (): MachineTimes | null => {
  try {
    return parseProcStat(readFileSync("/proc/stat", "utf8"));
  } catch {
    return null;
  }
};

/** Cores a phase kept busy on this machine, and cores the hypervisor gave other guests meanwhile. */
export interface Cores {
  readonly busy: number;
  readonly steal: number;
}

/** Cores busy (and stolen) on average between two readings of a machine with `cpus` CPUs. */
export const coresBetween = (before: MachineTimes | null, after: MachineTimes | null, cpus: number): Cores | null => {
  if (before === null || after === null || after.total <= before.total) return null;
  const total = after.total - before.total;
  return { busy: ((after.busy - before.busy) / total) * cpus, steal: ((after.steal - before.steal) / total) * cpus };
};

/** The peak resident set (VmHWM) of a process, in MiB; null without /proc. */
export const peakRssMb = (pid: number): number | null => {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
};

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** A line of progress, with the seconds since the bench started. */
const startedAt = Date.now();
export const progress = (message: string): void => {
  console.log(`[bench ${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)} s] ${message}`);
};
