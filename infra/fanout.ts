import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { Construct } from "constructs";
import { MAX_RECEIVE_COUNT, REDELIVERY_WINDOW_SECONDS } from "../domain/contracts";


export interface FanoutProps {
  readonly prefix: string;
  readonly key: KmsKey;
  /** Timeouts of each queue's consumer function, in seconds. */
  readonly consumerTimeoutSeconds: { readonly projection: number; readonly purge: number };
}

/** A queue fed by the topic, with its dead-letter queue. */
export interface SubscribedQueue {
  readonly queue: SqsQueue;
  readonly deadLetter: SqsQueue;
  readonly subscription: SnsTopicSubscription;
}

/**
 * The events topic and the queues behind it. Queues use SSE-SQS: SNS cannot deliver to a
 * queue under the AWS-managed `alias/aws/sqs` key, and SSE-SQS needs no key policy.
 */
export class Fanout extends Construct {
  readonly topic: SnsTopic;
  readonly projection: SubscribedQueue;
  readonly purge: SubscribedQueue;
  /** Where the enrichment function parks records it cannot decode; a dead end by design. */
  readonly quarantine: SqsQueue;

  constructor(scope: Construct, id: string, props: FanoutProps) {
    super(scope, id);
    this.topic = new SnsTopic(this, "events", { name: `${props.prefix}-events`, kmsMasterKeyId: props.key.arn });

    const deadEnd = (name: string) =>
      new SqsQueue(this, name, {
        name: `${props.prefix}-${name}`,
        sqsManagedSseEnabled: true,
        messageRetentionSeconds: REDELIVERY_WINDOW_SECONDS,
        tags: { purpose: "dead-letter" },
      });
    this.quarantine = deadEnd("quarantine");

    const subscribed = (name: string, consumerTimeout: number): SubscribedQueue => {
      const deadLetter = deadEnd(`${name}-dlq`);
      const queue = new SqsQueue(this, name, {
        name: `${props.prefix}-${name}`,
        sqsManagedSseEnabled: true,
        // Lambda's advice for SQS sources: six times the function's timeout, never less than it.
        visibilityTimeoutSeconds: consumerTimeout * 6,
        messageRetentionSeconds: 4 * 24 * 3600,
        redrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: MAX_RECEIVE_COUNT }),
      });
      new SqsQueuePolicy(this, `${name}-policy`, {
        queueUrl: queue.url,
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "FromEventsTopicOnly",
              Effect: "Allow",
              Principal: { Service: "sns.amazonaws.com" },
              Action: "sqs:SendMessage",
              Resource: queue.arn,
              Condition: { ArnEquals: { "aws:SourceArn": this.topic.arn } },
            },
          ],
        }),
      });
      const subscription = new SnsTopicSubscription(this, `${name}-subscription`, {
        topicArn: this.topic.arn,
        protocol: "sqs",
        endpoint: queue.arn,
        rawMessageDelivery: true,
        // No filter policy: the Pipe cannot set message attributes, and a filter on the body's
        // `eventType` would hide a new event type from a consumer instead of failing it. Each
        // consumer routes on the decoded envelope; an event it does not know fails and reaches
        // its dead-letter queue (and the alarm), never acknowledged unread.
      });
      return { queue, deadLetter, subscription };
    };
    this.projection = subscribed("projection", props.consumerTimeoutSeconds.projection);
    this.purge = subscribed("outbox-purge", props.consumerTimeoutSeconds.purge);
  }
}
