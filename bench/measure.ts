import { performance } from "node:perf_hooks";

export interface Measurement {
  readonly name: string;
  readonly opsPerSecond: number;
}

/**
 * Runs `fn` repeatedly for about `millis` after a warm-up and reports its rate. Callers
 * compare two measurements of the same run, never a bare time: machines here are shared.
 */
export const measure = async (name: string, fn: () => unknown | Promise<unknown>, millis = 1_000): Promise<Measurement> => {
  const warmUntil = performance.now() + millis / 4;
  while (performance.now() < warmUntil) await fn();
  let operations = 0;
  const start = performance.now();
  const end = start + millis;
  while (performance.now() < end) {
    await fn();
    operations += 1;
  }
  return { name, opsPerSecond: (operations * 1000) / (performance.now() - start) };
};

export const ratio = (subject: Measurement, baseline: Measurement): string =>
  `${subject.name}: ${(subject.opsPerSecond / baseline.opsPerSecond).toFixed(3)}x of ${baseline.name} ` +
  `(${Math.round(subject.opsPerSecond)} vs ${Math.round(baseline.opsPerSecond)} ops/s)`;
