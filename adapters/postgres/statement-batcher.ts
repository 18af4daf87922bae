import { performance } from "node:perf_hooks";

/**
 * Group commit for a long-running process: calls of one statement that arrive while earlier
 * ones are out go to the database together, as ONE statement over arrays, so N concurrent
 * orders cost one round trip and one commit instead of N. Each call still gets its own
 * answer, in the order of its inputs.
 *
 * - Nothing waits on a timer unless `lingerMs` says so: a call is sent at the end of the
 *   event-loop turn it arrived in (`setImmediate`), together with the calls of that turn,
 *   unless `maxInFlight` batches are already out; then it waits for the first of them to come
 *   back. A lone call goes at once, so light load pays no latency, and heavy load forms large
 *   batches by itself.
 * - On Lambda a container serves one request at a time: every batch holds one call, and this
 *   is the plain statement.
 * - `isolate`: a batch that failed with an error of this kind (the statement failed, so its
 *   transaction wrote nothing) is run again call by call, so one bad call cannot fail the
 *   calls it was batched with. Any other error (a lost connection: the outcome is unknown)
 *   fails every call of the batch, as it would have failed each alone.
 */
export interface BatcherOptions {
  /** Most calls in one statement. */
  readonly maxBatch: number;
  /** Most statements out at once (each holds a pooled connection while out). */
  readonly maxInFlight: number;
  readonly isolate?: (error: unknown) => boolean;
  /**
   * How long a call that finds nothing out and nobody waiting waits for company before its
   * statement goes (0, the default: the end of the event-loop turn). For statements nobody
   * waits on, such as the outbox purge, whose count matters more than their latency.
   */
  readonly lingerMs?: number;
}

export type Batched<I, O> = (input: I) => Promise<O>;

interface Waiting<I, O> {
  readonly input: I;
  readonly resolve: (output: O) => void;
  readonly reject: (error: unknown) => void;
  /** performance.now() when the call came. */
  readonly at: number;
}

export const batcher = <I, O>(
  run: (inputs: ReadonlyArray<I>) => Promise<ReadonlyArray<O>>,
  options: BatcherOptions,
): Batched<I, O> => {
  let waiting: Array<Waiting<I, O>> = [];
  let inFlight = 0;
  let scheduled = false;
  const lingerMs = options.lingerMs ?? 0;

  const settle = async (batch: ReadonlyArray<Waiting<I, O>>): Promise<void> => {
    const inputs = batch.map((w) => w.input);
    let outputs: ReadonlyArray<O>;
    try {
      outputs = await run(inputs);
    } catch (error) {
      if (batch.length > 1 && options.isolate?.(error) === true) {
        await Promise.all(batch.map((w) => settle([w])));
      } else {
        for (const w of batch) w.reject(error);
      }
      return;
    }
    if (outputs.length !== batch.length) {
      const mismatch = new Error(`a batched statement answered ${outputs.length} results for ${batch.length} calls`);
      for (const w of batch) w.reject(mismatch);
      return;
    }
    batch.forEach((w, i) => w.resolve(outputs[i] as O));
  };

  const take = (): Array<Waiting<I, O>> => {
    const batch = waiting.slice(0, options.maxBatch);
    waiting = waiting.slice(batch.length);
    return batch;
  };

  const pump = (): void => {
    scheduled = false;
    while (inFlight < options.maxInFlight && waiting.length > 0) {
      const due = (waiting[0] as Waiting<I, O>).at + lingerMs;
      if (lingerMs > 0 && waiting.length < options.maxBatch && performance.now() < due) {
        scheduled = true;
        setTimeout(pump, Math.max(0, due - performance.now()));
        return;
      }
      const batch = take();
      inFlight += 1;
      void settle(batch).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ input, resolve, reject, at: performance.now() });
      if (!scheduled && inFlight < options.maxInFlight) {
        scheduled = true;
        // The pump itself holds a lingering call back until it is due.
        setImmediate(pump);
      }
    });
};
