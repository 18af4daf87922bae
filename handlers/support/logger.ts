import { Logger, LogLevelThreshold } from "@aws-lambda-powertools/logger";

/** One structured logger per container; level from POWERTOOLS_LOG_LEVEL (INFO by default). */
export const logger = new Logger({ serviceName: "cqrs-outbox" });

/**
 * A DEBUG line per record, only when DEBUG is on: Powertools reads the X-Ray trace id from
 * the environment on every call, even for a line its level then drops, and a per-record
 * line is on the hottest path there is.
 */
export const debugPerRecord = (message: string, extra: Record<string, unknown>): void => {
  if (logger.level <= LogLevelThreshold.DEBUG) logger.debug(message, extra);
};

const MAX_CAUSES = 8;

const textOf = (value: unknown): string => {
  if (value instanceof Error) return value.message;
  if (typeof value === "object" && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
};

/**
 * A failure as one line for a person (a dead letter's reason): its message, then each
 * cause's, so `purge outbox` keeps the driver's `connect ECONNREFUSED ...` behind it.
 */
export const describeFailure = (failure: unknown): string => {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let current: unknown = failure; current !== undefined && !seen.has(current) && parts.length < MAX_CAUSES; ) {
    seen.add(current);
    parts.push(textOf(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": caused by: ");
};

/**
 * What to log as `error`: an Error as it is (Powertools logs its name, message, stack and
 * `cause` chain), anything else wrapped with it as the `cause`, never cast.
 */
export const asError = (failure: unknown, message: string): Error =>
  failure instanceof Error ? failure : new Error(message, { cause: failure });
