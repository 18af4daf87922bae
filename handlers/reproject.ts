import { isLeft } from "fp-ts/Either";
import type { Kysely } from "kysely";
import { rebuildViews } from "../adapters/postgres/client-history.kysely";
import type { Database } from "../adapters/postgres/schema";
import { APPLIED_MARKER_TTL_SECONDS, type RedisClientViewStore } from "../adapters/redis/client-view-store.redis";

export interface ReprojectDeps {
  readonly db: Kysely<Database>;
  readonly views: Pick<RedisClientViewStore, "replace">;
  readonly pageSize?: number;
  readonly onProgress?: (clientsDone: number) => void;
}

export interface ReprojectSummary {
  readonly clients: number;
  readonly markers: number;
}

/**
 * Rebuilds every client view from the command database, a page at a time. Each view is
 * replaced whole by one script, so a reader never sees a half-written view. Run it with the
 * projection consumer paused: an event applied between a page's read and its write would be
 * overwritten (its marker stays, so it would not be re-applied).
 */
export const reprojectAll = async (deps: ReprojectDeps): Promise<ReprojectSummary> => {
  const pageSize = deps.pageSize ?? 500;
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
  return { clients, markers };
};
