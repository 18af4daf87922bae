import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import type { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { KinesisStream } from "@cdktf/provider-aws/lib/kinesis-stream";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { PipesPipe } from "@cdktf/provider-aws/lib/pipes-pipe";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { Construct } from "constructs";
import { assumeRolePolicy, policyDocument } from "./iam";

/** Deliveries before a message goes to its queue's dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;
const FOURTEEN_DAYS = 14 * 24 * 3600;
/** What EventBridge Pipes reads as "no limit" for retries and record age. */
const UNLIMITED = -1;

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
        messageRetentionSeconds: FOURTEEN_DAYS,
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

export interface EventPipeProps {
  readonly prefix: string;
  readonly account: DataAwsCallerIdentity;
  readonly stream: KinesisStream;
  readonly key: KmsKey;
  readonly enrichment: LambdaFunction;
  readonly topic: SnsTopic;
  readonly logRetentionDays: number;
}

/**
 * Kinesis -> enrichment function -> SNS. Batches stay small (the enrichment function answers
 * for the whole batch) and failures are bisected. Nothing is ever discarded: retries and
 * record age are unlimited, so an outage of SNS, KMS or the enrichment blocks its shard
 * (the iterator-age alarm fires) and the Pipe goes on where it stopped once it is over. A
 * stream source's dead-letter queue would get only a description of the batch, not its
 * records, so there is none. Undecodable records never block: the enrichment quarantines them.
 */
export class EventPipe extends Construct {
  readonly pipe: PipesPipe;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: EventPipeProps) {
    super(scope, id);
    const name = `${props.prefix}-outbox-events`;
    this.logGroup = new CloudwatchLogGroup(this, "logs", { name: `/aws/vendedlogs/pipes/${name}`, retentionInDays: props.logRetentionDays });
    this.role = new IamRole(this, "role", {
      name: `${props.prefix}-pipe`,
      assumeRolePolicy: assumeRolePolicy("pipes.amazonaws.com", { StringEquals: { "aws:SourceAccount": props.account.accountId } }),
    });
    const policy = new IamRolePolicy(this, "policy", {
      role: this.role.id,
      name: "least-privilege",
      policy: policyDocument([
        {
          Sid: "ReadStream",
          Action: ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
          Resource: [props.stream.arn],
        },
        // Listed among the actions a Kinesis source needs; IAM has no resource for it (it
        // reveals stream names only).
        { Sid: "ListStreams", Action: ["kinesis:ListStreams"], Resource: ["*"] },
        { Sid: "Enrich", Action: ["lambda:InvokeFunction"], Resource: [props.enrichment.arn] },
        { Sid: "Publish", Action: ["sns:Publish"], Resource: [props.topic.arn] },
        // Decrypt to read the stream, GenerateDataKey to publish to the topic: same key.
        { Sid: "UseEventKey", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [props.key.arn] },
        { Sid: "Logs", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${this.logGroup.arn}:*`] },
      ]),
    });
    this.pipe = new PipesPipe(this, "pipe", {
      name,
      description: "Outbox changes from DMS to the events topic",
      roleArn: this.role.arn,
      desiredState: "RUNNING",
      source: props.stream.arn,
      sourceParameters: {
        kinesisStreamParameters: {
          startingPosition: "TRIM_HORIZON",
          batchSize: 10,
          maximumBatchingWindowInSeconds: 1,
          maximumRetryAttempts: UNLIMITED,
          maximumRecordAgeInSeconds: UNLIMITED,
          onPartialBatchItemFailure: "AUTOMATIC_BISECT",
        },
      },
      enrichment: props.enrichment.arn,
      target: props.topic.arn,
      logConfiguration: {
        level: "ERROR",
        cloudwatchLogsLogDestination: { logGroupArn: this.logGroup.arn },
      },
      dependsOn: [policy],
    });
  }
}
