// A private moto_server on a free port of 127.0.0.1, for `terraform apply` and destroy.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import path from "node:path";
import { freePort } from "../../../local/free-port";

export interface Moto {
  readonly url: string;
  /** Every resource moto holds, by service and kind (see moto-inventory.py). */
  inventory(): Promise<Inventory>;
  stop(): Promise<void>;
}

export type Inventory = Record<string, Record<string, ReadonlyArray<string>>>;

/** What `after` holds that `before` did not, by "service.kind". */
export const leftovers = (before: Inventory, after: Inventory): Record<string, string[]> => {
  const left: Record<string, string[]> = {};
  for (const [service, kinds] of Object.entries(after)) {
    for (const [kind, names] of Object.entries(kinds)) {
      const known = new Set(before[service]?.[kind] ?? []);
      const extra = names.filter((name) => !known.has(name));
      if (extra.length > 0) left[`${service}.${kind}`] = extra;
    }
  }
  return left;
};

const INVENTORY_SCRIPT = path.join(__dirname, "moto-inventory.py");

const inventoryOf = (url: string): Promise<Inventory> =>
  new Promise((resolve, reject) => {
    execFile("python3", [INVENTORY_SCRIPT, url], { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) {
        const hint = /No module named 'boto3'/.test(stderr) ? " (boto3 comes with moto: pip install 'moto[server]')" : "";
        reject(new Error(`moto inventory failed${hint}: ${stderr.trim().split("\n").slice(-3).join(" ")}`));
      } else resolve(JSON.parse(stdout) as Inventory);
    });
  });

const exited = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));

/**
 * Starts moto_server with AWS's managed IAM policies loaded (the stacks attach some) and
 * Lambda told not to use Docker (there is none to run functions in; creating them is enough).
 */
export const startMoto = async (logFile: string): Promise<Moto> => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited(child);
      clearTimeout(killer);
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode} at start; see ${logFile}`);
    try {
      const response = await fetch(`${url}/moto-api/config`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ lambda: { use_docker: false } }),
      });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer on ${url} within 60 s; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, inventory: () => inventoryOf(url), stop };
};
