import { randomUUID } from "node:crypto";
import { isLeft } from "fp-ts/Either";
import type { Kysely } from "kysely";
import { rebuildViews } from "../adapters/postgres/client-history.kysely";
import type { Database } from "../adapters/postgres/schema";
import { APPLIED_MARKER_TTL_SECONDS, type RedisClientViewStore } from "../adapters/redis/client-view-store.redis";

export interface ReprojectDeps {
  readonly db: Kysely<Database>;
  readonly views: Pick<RedisClientViewStore, "replace" | "beginRebuild" | "completeRebuild">;
  readonly pageSize?: number;
  readonly onProgress?: (clientsDone: number) => void;
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
 * Readers get `ReadModelUnavailable` (HTTP 503, Retry-After) while it runs. A rebuild that
 * outlasts the queue's redrive policy sends the refused messages to the dead-letter queue;
 * redrive them once it is done (they are then applied or found applied).
 */
export const reprojectAll = async (deps: ReprojectDeps): Promise<ReprojectSummary> => {
  const pageSize = deps.pageSize ?? 500;
  const began = await deps.views.beginRebuild()();
  if (isLeft(began)) throw new Error("reproject could not clear the read model's generation", { cause: began.left });
  let after = 0;
  let clients = 0;
  let markers = 0;
  for (;;) {
    const page = await rebuildViews(deps.db, after, pageSize, APPLIED_MARKER_TTL_SECONDS);
    if (page.length === 0) break;
    const written = await deps.views.replace(page)();
    if (isLeft(written)) throw new Error(`reproject failed after ${clients} clients`, { cause: written.left });
    clients += page.length;
    markers += page.reduce((n, rebuilt) => n + rebuilt.eventIds.length, 0);
    after = page[page.length - 1]!.view.clientId;
    deps.onProgress?.(clients);
  }
  const generation = `${new Date().toISOString()}/${randomUUID()}`;
  const completed = await deps.views.completeRebuild(generation)();
  if (isLeft(completed)) throw new Error(`reproject rebuilt ${clients} clients but could not set the generation`, { cause: completed.left });
  return { clients, markers, generation };
};
