import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import type { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { KinesisStream } from "@cdktf/provider-aws/lib/kinesis-stream";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { PipesPipe } from "@cdktf/provider-aws/lib/pipes-pipe";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { Construct } from "constructs";
import { PIPE_BATCH_SIZE } from "../domain/contracts";
import { assumeRolePolicy, policyDocument } from "./iam";

/** What EventBridge Pipes reads as "no limit" for retries and record age. */
const UNLIMITED = -1;

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
          batchSize: PIPE_BATCH_SIZE,
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
