import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DmsEventSubscription } from "@cdktf/provider-aws/lib/dms-event-subscription";
import type { DmsReplicationInstance } from "@cdktf/provider-aws/lib/dms-replication-instance";
import type { DmsReplicationTask } from "@cdktf/provider-aws/lib/dms-replication-task";
import type { KinesisStream } from "@cdktf/provider-aws/lib/kinesis-stream";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import type { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { Fn } from "cdktf";
import { Construct } from "constructs";

export interface ObservabilityProps {
  readonly prefix: string;
  readonly key: KmsKey;
  /** Queues that should stay empty: dead-letter queues and the quarantine. */
  readonly deadEnds: Readonly<Record<string, SqsQueue>>;
  readonly functions: Readonly<Record<string, LambdaFunction>>;
  readonly stream: KinesisStream;
  readonly dms: { readonly instance: DmsReplicationInstance; readonly task: DmsReplicationTask };
  /** The read model's nodes, by the ids ElastiCache reports their metrics under. */
  readonly cacheNodeIds: ReadonlyArray<string>;
  /** Share of a cache node's memory in use (%) above which it is close to refusing writes. */
  readonly cacheMemoryPercent?: number;
  /** CDC latency (seconds) above which DMS is falling behind. */
  readonly cdcLatencySeconds?: number;
  /** Age (ms) of the oldest unread record in the stream before the Pipe is called stuck. */
  readonly iteratorAgeMs?: number;
}

/**
 * Alarms on everything that means events are stuck or lost; they notify the alarms topic.
 * An alarm whose metric goes silent when its component stops (DMS's CDC latency, the
 * stream's iterator age, which the running Pipe reports) treats missing data as breaching:
 * a stopped task or a stopped Pipe must alarm, not look healthy.
 */
export class Observability extends Construct {
  readonly alarmTopic: SnsTopic;
  readonly alarms: CloudwatchMetricAlarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.alarmTopic = new SnsTopic(this, "alarms", { name: `${props.prefix}-alarms`, kmsMasterKeyId: props.key.arn });
    type Metric = Omit<ConstructorParameters<typeof CloudwatchMetricAlarm>[2], "alarmName" | "alarmDescription">;
    const alarm = (name: string, description: string, metric: Metric) =>
      this.alarms.push(
        new CloudwatchMetricAlarm(this, name, {
          alarmName: `${props.prefix}-${name}`,
          alarmDescription: description,
          alarmActions: [this.alarmTopic.arn],
          okActions: [this.alarmTopic.arn],
          treatMissingData: "notBreaching",
          ...metric,
        }),
      );

    for (const [name, queue] of Object.entries(props.deadEnds)) {
      alarm(`${name}-not-empty`, `Messages are waiting in ${name}: inspect and redrive them`, {
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: queue.name },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
      });
    }

    // CloudWatch names a DMS task by its resource id, the last part of its ARN.
    const taskResourceId = Fn.element(Fn.split(":", props.dms.task.replicationTaskArn), 6);
    for (const metricName of ["CDCLatencySource", "CDCLatencyTarget"]) {
      alarm(`dms-${metricName.toLowerCase()}`, `DMS ${metricName} is high: outbox events reach Kinesis late`, {
        namespace: "AWS/DMS",
        metricName,
        dimensions: { ReplicationInstanceIdentifier: props.dms.instance.replicationInstanceId, ReplicationTaskIdentifier: taskResourceId },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 2,
        threshold: props.cdcLatencySeconds ?? 60,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "breaching",
      });
    }
    // Failure and state changes of the task (stopped on an error, by hand, or by a
    // maintenance) reach the alarm topic at once, before the latency alarms' periods run out.
    new DmsEventSubscription(this, "dms-task-events", {
      name: `${props.prefix}-dms-task`,
      snsTopicArn: this.alarmTopic.arn,
      sourceType: "replication-task",
      sourceIds: [props.dms.task.replicationTaskId],
      eventCategories: ["failure", "state change"],
      enabled: true,
    });

    alarm("stream-iterator-age", "The Pipe is falling behind the outbox stream", {
      namespace: "AWS/Kinesis",
      metricName: "GetRecords.IteratorAgeMilliseconds",
      dimensions: { StreamName: props.stream.name },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: props.iteratorAgeMs ?? 60_000,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "breaching",
    });

    // The cache never evicts (noeviction): close to full it refuses writes and events wait.
    for (const nodeId of props.cacheNodeIds) {
      alarm(`cache-memory-${nodeId.slice(nodeId.lastIndexOf("-") + 1)}`, `Read model node ${nodeId} is close to full: it will refuse writes`, {
        namespace: "AWS/ElastiCache",
        metricName: "DatabaseMemoryUsagePercentage",
        dimensions: { CacheClusterId: nodeId },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: props.cacheMemoryPercent ?? 80,
        comparisonOperator: "GreaterThanThreshold",
      });
    }

    for (const [name, fn] of Object.entries(props.functions)) {
      for (const metricName of ["Errors", "Throttles"]) {
        alarm(`${name}-${metricName.toLowerCase()}`, `${name} ${metricName.toLowerCase()}`, {
          namespace: "AWS/Lambda",
          metricName,
          dimensions: { FunctionName: fn.functionName },
          statistic: "Sum",
          period: 300,
          evaluationPeriods: 1,
          threshold: 0,
          comparisonOperator: "GreaterThanThreshold",
        });
      }
    }
  }
}
