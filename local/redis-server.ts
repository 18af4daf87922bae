import { spawn } from "node:child_process";
import { connect } from "node:net";
import { freePort } from "./free-port";

export interface RunningRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const answersPing = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.setTimeout(500);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString().startsWith("+PONG"));
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });

/**
 * Starts a throw-away `redis-server` (from PATH) on a free loopback port, with persistence
 * off: the read model is always rebuildable from PostgreSQL (`npm run reproject`).
 */
export const startRedisServer = async (
  options: { readonly port?: number; readonly binary?: string } = {},
): Promise<RunningRedis> => {
  const port = options.port ?? (await freePort());
  const binary = options.binary ?? process.env.REDIS_SERVER_BIN ?? "redis-server";
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once("error", (error) =>
      reject(new Error(`could not start ${binary} (is redis-server on PATH?): ${error.message}`)),
    ),
  );
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const deadline = Date.now() + 10_000;
  const ready = (async (): Promise<void> => {
    while (!(await answersPing(port))) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within 10 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  await Promise.race([ready, spawnError]);

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener("exit", killOnExit);
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
};
