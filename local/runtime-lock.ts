import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive } from "./processes";

export interface RuntimeLock {
  /** The previous owner died without stopping (SIGKILL, power loss): its servers may be orphans. */
  readonly previousOwnerDied: boolean;
  /** Where `npm run redrive` finds the running runtime. */
  publish(details: Record<string, unknown>): void;
  release(): void;
}

/** A live Node.js process (not a zombie, not another program that got the pid since). */
const alive = (pid: number): boolean => {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("node");
  } catch {
    // No /proc (not Linux): the pid exists, which is all we can tell.
    return true;
  }
};

/**
 * One runtime per data folder. A lock whose owner is still alive fails the start with its
 * pid; a lock whose owner died is taken over, and the start reclaims the servers it left.
 */
export const acquireRuntimeLock = (dataDir: string): RuntimeLock => {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = join(dataDir, "runtime.pid");
  const detailsFile = join(dataDir, "runtime.json");
  let previousOwnerDied = false;
  try {
    writeFileSync(lockFile, String(process.pid), { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const owner = Number(readFileSync(lockFile, "utf8").trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new Error(`the data folder ${dataDir} is in use by another npm start (pid ${owner})`);
    }
    previousOwnerDied = true;
    writeFileSync(lockFile, String(process.pid));
  }
  return {
    previousOwnerDied,
    publish: (details) => writeFileSync(detailsFile, `${JSON.stringify({ pid: process.pid, ...details }, null, 2)}\n`, { mode: 0o600 }),
    release: () => {
      rmSync(detailsFile, { force: true });
      rmSync(lockFile, { force: true });
    },
  };
};

/** What a running runtime published in its data folder, or undefined when none runs there. */
export const readRuntimeDetails = (dataDir: string): Record<string, unknown> | undefined => {
  try {
    const details = JSON.parse(readFileSync(join(dataDir, "runtime.json"), "utf8")) as Record<string, unknown>;
    return typeof details.pid === "number" && alive(details.pid) ? details : undefined;
  } catch {
    return undefined;
  }
};
