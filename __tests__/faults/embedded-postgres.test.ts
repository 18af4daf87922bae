import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminQuery, startPrivatePostgres } from "../support/private-servers";

/**
 * The embedded PostgreSQL the runtime (and this suite) relies on under faults: a restart
 * on the same port and data, and a postmaster orphaned by a SIGKILLed owner, which blocks
 * its data folder until someone reclaims it (opt-in: by default the start fails and says why).
 */

/** A live process; an exited one not yet reaped by its new parent (a zombie) is not. */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return process.platform !== "linux";
  }
};

const waitFor = async (condition: () => boolean, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
};

it("restarts on the same port and data, and reclaims a postmaster orphaned by a SIGKILL only when asked", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "cqrs-faults-pgdata-"));
  const first = await startPrivatePostgres({ dataDir });
  let orphan: number | undefined;
  try {
    await adminQuery(first.url, "CREATE TABLE kept (x int)");
    await adminQuery(first.url, "INSERT INTO kept VALUES (42)");

    const before = first.pid();
    const started = Date.now();
    await first.restart(500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(first.pid()).not.toBe(before);
    expect(isAlive(before)).toBe(false);
    expect(await adminQuery(first.url, "SELECT x FROM kept")).toEqual([{ x: 42 }]);

    // The owner dies without a word: its postmaster lives on, holding the folder.
    orphan = first.pid();
    process.kill(first.helperPid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 500));
    expect(isAlive(orphan)).toBe(true);

    await expect(startPrivatePostgres({ dataDir })).rejects.toThrow(/is another instance using this data folder\?/);
    expect(isAlive(orphan)).toBe(true);

    const second = await startPrivatePostgres({ dataDir, reclaimOrphan: true });
    try {
      expect(await waitFor(() => !isAlive(orphan as number), 1_000)).toBe(true);
      expect(second.pid()).not.toBe(orphan);
      expect(await adminQuery(second.url, "SELECT x FROM kept")).toEqual([{ x: 42 }]);
    } finally {
      await second.stop();
    }
  } finally {
    if (orphan !== undefined && isAlive(orphan)) process.kill(orphan, "SIGKILL");
    await first.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);
