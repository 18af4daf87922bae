import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import type { Credentials } from "../handlers/authorizer";
import type { LocalRoute } from "./gateway";

/**
 * The HTTP API in a worker thread of its own (local/api-worker.ts), as on AWS its Lambdas
 * scale apart from the pipeline's: on a machine with two cores, taking orders no longer
 * waits for the log tailer, the pipe and the projection to give the event loop back.
 *
 * - The thread has its own PostgreSQL pool and Redis connection; the handlers are the same.
 * - `/_local/...` routes are answered by the main thread, which holds the queues, the slot
 *   and the read model they report on: the thread authorizes, then forwards.
 * - A thread that ends (an uncaught error) is started again on the same port; requests in
 *   between are refused, as a Lambda's would be while it cold-starts. Nothing acknowledged
 *   is lost: an order is acknowledged only after its commit.
 */

export interface ApiWorkerData {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly redisKeyPrefix: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly credentials: Credentials;
  readonly authorizerTtlMs: number;
  readonly localRoutes: ReadonlyArray<Omit<LocalRoute, "handler">>;
}

export type FromApiWorker =
  | { readonly type: "listening"; readonly url: string }
  | { readonly type: "failed"; readonly error: string }
  | { readonly type: "log"; readonly message: string }
  | { readonly type: "local"; readonly id: number; readonly path: string; readonly parameters: Readonly<Record<string, string>> };

export type ToApiWorker =
  | { readonly type: "answer"; readonly id: number; readonly status: number; readonly body: unknown }
  | { readonly type: "stop" };

export interface ApiThreadOptions extends Omit<ApiWorkerData, "localRoutes"> {
  readonly localRoutes: ReadonlyArray<LocalRoute>;
  readonly log: (message: string) => void;
  /** Told of every thread started (tests end one to see it come back). */
  readonly onThread?: (thread: Worker) => void;
}

export interface ApiThread {
  readonly url: string;
  /** Stops taking requests (busy ones finish), closes the thread's connections, ends it. */
  stop(): Promise<void>;
}

// The worker loads TypeScript itself, whatever started this process (tsx, node --import tsx, jest).
const BOOTSTRAP = `require("tsx/cjs/api").register(); require(${JSON.stringify(resolve(__dirname, "api-worker.ts"))});`;
const RESTART_DELAY_MS = 200;
const STOP_TIMEOUT_MS = 10_000;

export const startApiThread = (options: ApiThreadOptions): Promise<ApiThread> => {
  const { localRoutes, log, onThread, ...rest } = options;
  const routes = new Map(localRoutes.map((route) => [route.path, route]));
  let stopping = false;
  let worker: Worker | undefined;
  let port = options.port;

  const spawn = (onListening: (url: string) => void, onFailed: (error: Error) => void): void => {
    const data: ApiWorkerData = { ...rest, port, localRoutes: localRoutes.map(({ handler: _, ...route }) => route) };
    const thread = new Worker(BOOTSTRAP, { eval: true, workerData: data });
    worker = thread;
    onThread?.(thread);
    let listening = false;
    let failure: string | undefined;
    thread.on("message", (message: FromApiWorker) => {
      switch (message.type) {
        case "listening":
          listening = true;
          port = Number(new URL(message.url).port);
          onListening(message.url);
          return;
        case "failed":
          failure = message.error;
          return;
        case "log":
          log(message.message);
          return;
        case "local": {
          const route = routes.get(message.path);
          const reply = (status: number, body: unknown) => thread.postMessage({ type: "answer", id: message.id, status, body } satisfies ToApiWorker);
          if (route === undefined) return reply(404, { message: "no such local endpoint" });
          route.handler(message.parameters).then(
            (answer) => reply(answer.status, answer.body),
            (error: unknown) => {
              log(`local endpoint ${message.path} failed: ${error instanceof Error ? error.message : String(error)}`);
              reply(502, { message: "Internal server error" });
            },
          );
          return;
        }
      }
    });
    thread.on("error", (error) => log(`API thread: ${error.stack ?? error.message}`));
    thread.on("exit", (code) => {
      if (worker === thread) worker = undefined;
      if (stopping) return;
      if (!listening) return onFailed(new Error(`the API thread did not start: ${failure ?? `it ended with exit code ${code}`}`));
      log(`the API thread ended (exit code ${code}): starting it again on port ${port}`);
      // A stop during the delay starts nothing.
      const again = () => {
        if (stopping) return;
        spawn(
          () => log("the API thread is back"),
          (error) => {
            log(`${error.message}: trying again`);
            setTimeout(again, RESTART_DELAY_MS * 5).unref();
          },
        );
      };
      setTimeout(again, RESTART_DELAY_MS).unref();
    });
  };

  return new Promise<ApiThread>((resolveStart, rejectStart) => {
    spawn(
      (url) =>
        resolveStart({
          url,
          stop: async () => {
            stopping = true;
            const thread = worker;
            if (thread === undefined) return;
            const exited = new Promise<void>((done) => thread.once("exit", () => done()));
            thread.postMessage({ type: "stop" } satisfies ToApiWorker);
            const timer = setTimeout(() => void thread.terminate(), STOP_TIMEOUT_MS);
            await exited;
            clearTimeout(timer);
          },
        }),
      (error) => {
        stopping = true;
        void worker?.terminate();
        rejectStart(error);
      },
    );
  });
};
