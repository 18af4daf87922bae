/*
 * The numbers and names the pipeline's stages must agree on, in one place: the
 * infrastructure (infra/), the adapters and handlers that run on AWS, and the local runtime
 * (local/) that stands in for AWS all import them from here, so they cannot drift apart.
 * Pure constants: no imports.
 */

/** The table the order service writes its events to, and the only one change capture reads. */
export const OUTBOX_SCHEMA = "public";
export const OUTBOX_TABLE = "outbox";

/**
 * The schema of DMS's heartbeat table: the DMS source endpoint's `heartbeat_schema`, and the
 * schema the migrate step creates with USAGE and CREATE for the replication user.
 */
export const HEARTBEAT_SCHEMA = "dms";

/** Deliveries of an SQS message before it goes to its dead-letter queue (redrive `maxReceiveCount`). */
export const MAX_RECEIVE_COUNT = 5;

/**
 * The longest SQS keeps a message (14 days): the dead-letter queues' and the quarantine's
 * retention, and so how long an event can come again. The applied-event markers in Redis
 * live this long, so no redelivery outlives the marker that absorbs it.
 */
export const REDELIVERY_WINDOW_SECONDS = 14 * 24 * 60 * 60;

/** Records per batch the EventBridge Pipe (locally the in-process pipe) hands the enrichment function. */
export const PIPE_BATCH_SIZE = 10;

/** Messages per batch an SQS consumer (the event source mappings; locally the queues) gets. */
export const QUEUE_BATCH_SIZE = 10;

/**
 * How long API Gateway keeps the authorizer's policy for one Authorization header
 * (`authorizerResultTtlInSeconds`); the local gateway caches it for as long.
 */
export const AUTHORIZER_TTL_SECONDS = 300;
