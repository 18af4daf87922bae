import type { SQSRecord } from "aws-lambda";
import { isLeft, isRight } from "fp-ts/Either";
import type * as O from "fp-ts/Option";
import { isNone, isSome } from "fp-ts/Option";
import { APPLIED_MARKER_TTL_SECONDS, createClientViewStore } from "../adapters/redis/client-view-store.redis";
import type { DomainError } from "../domain/errors";
import { decodeOutboxEvent, type OutboxEnvelope, type OutboxEvent } from "../domain/outbox-event";
import type { ClientViewStore } from "../domain/ports";
import { debugPerRecord, logger } from "./support/logger";
import { configuredEntry } from "./support/configuration";
import { redisSettings, sharedRedis } from "./support/redis";
import { CodedFailure, decodeEnvelope, domainFailure, messageOf, sqsBatchHandler } from "./support/sqs-message";

export interface ProjectClientViewDeps {
  readonly views: ClientViewStore;
  readonly now?: () => number;
}

/**
 * Applied-event markers live 14 days. An event older than that (a DMS reload of rows the
 * purge never removed, a dead-letter redrive weeks later) might have been applied already
 * with its marker gone, so applying it could count an order twice. Such an event fails and
 * ends in the dead-letter queue, whose alarm tells an operator to run `reproject`, which
 * rebuilds the views exactly from PostgreSQL. A day of margin covers clock skew.
 */
export const MAX_EVENT_AGE_MS = (APPLIED_MARKER_TTL_SECONDS - 24 * 60 * 60) * 1000;

/**
 * Why a record failed. Every failure is retried, never acknowledged: in particular, without
 * a generation (Redis wiped, or a rebuild running) the script wrote nothing, and the retry
 * applies the event once `reproject` has set a generation again. The failure log carries the
 * error's code as a field, which the read model's alarm counts.
 */
const applyFailure = (error: DomainError, eventId: string): Error =>
  error.code === "ReadModelUnavailable"
    ? new CodedFailure(error.code, "ReadModelUnavailable: read model generation missing, waiting for a rebuild")
    : domainFailure(error, `could not apply ${eventId}`);

/**
 * The event a message carries, decoded once on the common path: a message of a type this
 * system knows decodes straight to its event (its codec checks every field of the envelope,
 * and more strictly). Anything else (an unknown type, a broken contract, not an envelope)
 * goes the long way, envelope first, so its failure or its `none` reads exactly the same.
 */
const eventOf = (record: SQSRecord): O.Option<OutboxEvent> => {
  const message = messageOf(record);
  if (typeof message === "object" && message !== null) {
    const known = decodeOutboxEvent(message as OutboxEnvelope);
    if (isRight(known) && isSome(known.right)) return known.right;
  }
  const envelope = decodeEnvelope(message);
  const event = decodeOutboxEvent(envelope);
  if (isLeft(event)) throw new Error(`invalid ${envelope.eventType} v${envelope.eventVersion} event ${envelope.eventId}: ${event.left}`);
  if (isNone(event.right)) {
    logger.warn("event type not projected; acknowledged", {
      eventId: envelope.eventId,
      eventType: envelope.eventType,
      eventVersion: envelope.eventVersion,
      messageId: record.messageId,
    });
  }
  return event.right;
};

/**
 * SQS -> Redis read model, one message at a time with partial batch failures. Events of a
 * type (or version) this system does not know are acknowledged and logged, not retried; an
 * event of a known type that breaks its contract fails, and so ends in the dead-letter queue.
 * The batch processor handles a batch's records concurrently, so their scripts go to Redis
 * together (auto-pipelining: one write, one round trip). Their order does not matter: the
 * script's merge is commutative (sums, a max, last-writer-wins by a total order; the
 * reducer's tests check any delivery order gives the same view, and the parity test that the
 * script is the reducer), and each event's marker is checked and set in the same script.
 */
export const makeProjectClientViewHandler = (deps: () => Promise<ProjectClientViewDeps>) =>
  sqsBatchHandler(async (record: SQSRecord): Promise<string> => {
    const event = eventOf(record);
    if (isNone(event)) return "ignored";
    const { eventId } = event.value;
    const { views, now = Date.now } = await deps();
    const age = now() - Date.parse(event.value.occurredAt);
    if (age > MAX_EVENT_AGE_MS) {
      throw new Error(`event ${eventId} is ${Math.round(age / 86_400_000)} days old, past the duplicate-detection window: run reproject`);
    }
    const outcome = await views.apply(event.value)();
    if (isLeft(outcome)) throw applyFailure(outcome.left, eventId);
    debugPerRecord("event projected", { eventId, outcome: outcome.right });
    return outcome.right;
  });

/** Lambda entry point (SQS "projection" queue). */
export const handler = configuredEntry(
  [redisSettings],
  makeProjectClientViewHandler(async () => ({ views: createClientViewStore(await sharedRedis()) })),
);
