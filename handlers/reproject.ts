import { LambdaClient } from "@aws-sdk/client-lambda";
import type { Context } from "aws-lambda";
import { eventSourceMappingSwitch } from "../adapters/aws/event-source-mapping";
import { createClientViewStore } from "../adapters/redis/client-view-store.redis";
import { configuredEntry, once } from "./support/configuration";
import { databaseSettings, sharedDb } from "./support/database";
import { logger } from "./support/logger";
import { redisSettings, sharedRedis } from "./support/redis";
import { rebuildWithConsumerPaused, reprojectAll, type ReprojectSummary } from "./support/reproject-views";

/** Left for resuming the consumer after an abandoned rebuild, before Lambda's timeout. */
const RESUME_MARGIN_MS = 60_000;

/**
 * Lambda entry point (invoked by hand, see the `reproject_command` output): pauses the
 * projection queue's event source mapping (PROJECTION_MAPPING_UUID), rebuilds the read
 * model, resumes the mapping. Reserved concurrency 1: two rebuilds never overlap.
 */
const projectionMappingUuid = once((): string => {
  const uuid = process.env.PROJECTION_MAPPING_UUID;
  if (uuid === undefined || uuid === "") throw new Error("PROJECTION_MAPPING_UUID is not set");
  return uuid;
});

export const handler = configuredEntry([databaseSettings, redisSettings, projectionMappingUuid], async (
  _event: unknown,
  context: Pick<Context, "getRemainingTimeInMillis">,
): Promise<ReprojectSummary & { readonly durationMs: number }> => {
  const uuid = projectionMappingUuid();
  const started = Date.now();
  const summary = await rebuildWithConsumerPaused({
    consumer: eventSourceMappingSwitch(new LambdaClient({}), uuid),
    rebuild: async (signal) =>
      reprojectAll({
        db: await sharedDb(),
        views: createClientViewStore(await sharedRedis()),
        signal,
        onProgress: (clients) => logger.debug("reproject progress", { clients }),
      }),
    deadlineMs: context.getRemainingTimeInMillis() - RESUME_MARGIN_MS,
  });
  const durationMs = Date.now() - started;
  logger.info("read model rebuilt", { ...summary, durationMs });
  return { ...summary, durationMs };
});
