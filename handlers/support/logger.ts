import { Logger } from "@aws-lambda-powertools/logger";

/** One structured logger per container; level from POWERTOOLS_LOG_LEVEL (INFO by default). */
export const logger = new Logger({ serviceName: "cqrs-outbox" });
