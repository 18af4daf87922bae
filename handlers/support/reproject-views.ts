import { randomUUID } from "node:crypto";
import { isLeft } from "fp-ts/Either";
import type { Kysely } from "kysely";
import { rebuildViews, waitForTransactionsInProgress } from "../../adapters/postgres/client-history.kysely";
import type { Database } from "../../adapters/postgres/schema";
import { APPLIED_MARKER_TTL_SECONDS, type RedisClientViewStore } from "../../adapters/redis/client-view-store.redis";

export interface ReprojectDeps {
  readonly db: Kysely<Database>;
  readonly views: Pick<RedisClientViewStore, "replace" | "beginRebuild" | "completeRebuild">;
  readonly pageSize?: number;
  readonly onProgress?: (clientsDone: number) => void;
  /** Stops the rebuild before its next write (see `rebuildWithConsumerPaused`). */
  readonly signal?: AbortSignal;
}

export interface ReprojectSummary {
  readonly clients: number;
  readonly markers: number;
  /** The read model's generation this rebuild set. */
  readonly generation: string;
}

/**
 * Rebuilds every client view from the command database, a page at a time. Each view is
 * replaced whole by one script, so no view is ever half-written.
 *
 * It runs beside a live consumer, with no pause: the rebuild first deletes the read model's
 * generation, and while it is missing the apply script refuses every event (writing nothing,
 * not even the marker) and the consumer fails the message, so SQS (or the local queue)
 * retries it. The generation is set again only after the last page. The race this closes,
 * for an order `e` of client 7 placed while the rebuild runs:
 *   without the generation check:
 *     rebuild: reads client 7 (total 10)
 *     consumer: applies e (total 15, marker e)
 *     rebuild: writes client 7 (total 10)          -> e lost, its marker forbids a retry
 *   with it:
 *     rebuild: deletes the generation, reads client 7 (total 10)
 *     consumer: e refused, nothing written; message retried later
 *     rebuild: writes client 7 (total 10), sets the generation
 *     consumer: retry applies e (total 15)           (or, had the read seen e, finds its marker)
 * The read must also see every event applied before the generation was cleared. The log
 * (the local tailer, DMS on AWS) may carry a transaction's commit before other sessions see
 * its rows, so the consumer may have applied `e` while a read would still miss it:
 *   consumer: applies e (total 15, marker e)    e's transaction: commit record written
 *   rebuild: deletes the generation, reads client 7 (total 10: e not visible yet)
 *   rebuild: writes client 7 (total 10)          -> e lost, its marker forbids a retry
 * so between the two it waits until every transaction in progress has ended, such ones among
 * them. Not only those the tailer handed on: a runtime that restarted may have applied an
 * event before, whose transaction is still not visible.
 * Readers get `ReadModelUnavailable` (HTTP 503, Retry-After) while it runs. A rebuild that
 * outlasts the queue's redrive policy sends the refused messages to the dead-letter queue;
 * redrive them once it is done (they are then applied or found applied).
 */
export const reprojectAll = async (deps: ReprojectDeps): Promise<ReprojectSummary> => {
  const pageSize = deps.pageSize ?? 500;
  let clients = 0;
  // Checked before every write: a rebuild abandoned at its deadline must not write a page it
  // read long ago, nor set a generation, should its container run again later.
  const stopIfAborted = () => {
    if (deps.signal?.aborted === true) throw new Error(`reproject stopped after ${clients} clients`, { cause: deps.signal.reason });
  };
  stopIfAborted();
  const began = await deps.views.beginRebuild()();
  if (isLeft(began)) throw new Error("reproject could not clear the read model's generation", { cause: began.left });
  await waitForTransactionsInProgress(deps.db, deps.signal);
  let after = 0;
  let markers = 0;
  for (;;) {
    const page = await rebuildViews(deps.db, after, pageSize, APPLIED_MARKER_TTL_SECONDS);
    if (page.length === 0) break;
    stopIfAborted();
    const written = await deps.views.replace(page)();
    if (isLeft(written)) throw new Error(`reproject failed after ${clients} clients`, { cause: written.left });
    clients += page.length;
    markers += page.reduce((n, rebuilt) => n + rebuilt.eventIds.length, 0);
    after = page[page.length - 1]!.view.clientId;
    deps.onProgress?.(clients);
  }
  stopIfAborted();
  const generation = `${new Date().toISOString()}/${randomUUID()}`;
  const completed = await deps.views.completeRebuild(generation)();
  if (isLeft(completed)) throw new Error(`reproject rebuilt ${clients} clients but could not set the generation`, { cause: completed.left });
  return { clients, markers, generation };
};

/** A consumer that can be stopped while the read model is rebuilt (on AWS, its event source mapping). */
export interface PausableConsumer {
  /** Resolves once the consumer takes no more messages. */
  readonly pause: (signal?: AbortSignal) => Promise<void>;
  readonly resume: () => Promise<void>;
}

/**
 * Pauses the consumer, rebuilds, and resumes the consumer whatever happened. The rebuild
 * needs no pause to be exact (see `reprojectAll`), but on AWS every refused try counts
 * towards the projection queue's redrive limit: a paused consumer leaves the events waiting
 * in the queue instead of sending them to the dead-letter queue. A failed rebuild leaves the
 * read model without a generation, so the resumed consumer refuses events until the next
 * one succeeds. Past `deadlineMs` the pause or rebuild is abandoned (told through its signal,
 * and it stops at its next step), so the consumer resumes even when the function's own
 * timeout is near.
 */
export const rebuildWithConsumerPaused = async <T>(deps: {
  readonly consumer: PausableConsumer;
  readonly rebuild: (signal: AbortSignal) => Promise<T>;
  readonly deadlineMs: number;
}): Promise<T> => {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`reproject did not finish within ${Math.round(deps.deadlineMs / 1000)} s; the read model stays without a generation`);
      controller.abort(error);
      reject(error);
    }, deps.deadlineMs);
  });
  const work = (async () => {
    await deps.consumer.pause(controller.signal);
    controller.signal.throwIfAborted();
    return deps.rebuild(controller.signal);
  })();
  work.catch(() => undefined); // abandoned at the deadline: it stops by itself
  let outcome: { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };
  try {
    outcome = { ok: true, value: await Promise.race([work, deadline]) };
  } catch (error) {
    outcome = { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
  try {
    await deps.consumer.resume();
  } catch (resumeError) {
    const message = "reproject could not resume the projection consumer: enable its event source mapping by hand";
    throw outcome.ok ? new Error(message, { cause: resumeError }) : new AggregateError([outcome.error, resumeError], message);
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
};
