import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import type { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { Construct } from "constructs";

/**
 * The top-level field of the JSON log line the projection and get-client write when the
 * read model has no generation (a refused event, a 503 to a reader).
 */
export const READ_MODEL_UNAVAILABLE_LOG = { field: "code", value: "ReadModelUnavailable" } as const;

/** CloudWatch Logs filter pattern for that line. */
export const READ_MODEL_UNAVAILABLE_PATTERN = `{ $.${READ_MODEL_UNAVAILABLE_LOG.field} = "${READ_MODEL_UNAVAILABLE_LOG.value}" }`;

const READ_MODEL_UNAVAILABLE_METRIC = "ReadModelUnavailable";

export interface ReadModelAlarmsProps {
  readonly prefix: string;
  /** Log groups of the functions that log the refusal, by function name. */
  readonly logGroups: Readonly<Record<string, CloudwatchLogGroup>>;
  readonly alarmTopic: SnsTopic;
}

/**
 * Counts what the read model refuses while its generation is missing (Redis lost its data,
 * or a rebuild is running) and alarms on any of it. Silence is not breaching: no events and
 * no reads is normal.
 */
export class ReadModelAlarms extends Construct {
  readonly filters: ReadonlyArray<CloudwatchLogMetricFilter>;
  readonly alarm: CloudwatchMetricAlarm;

  constructor(scope: Construct, id: string, props: ReadModelAlarmsProps) {
    super(scope, id);
    // One namespace per stack: a metric filter cannot add a fixed dimension.
    const namespace = `cqrs-outbox/${props.prefix}`;
    this.filters = Object.entries(props.logGroups).map(
      ([name, group]) =>
        new CloudwatchLogMetricFilter(this, `${name}-filter`, {
          name: `${props.prefix}-${name}-read-model-unavailable`,
          logGroupName: group.name,
          pattern: READ_MODEL_UNAVAILABLE_PATTERN,
          metricTransformation: { name: READ_MODEL_UNAVAILABLE_METRIC, namespace, value: "1", unit: "Count" },
        }),
    );
    this.alarm = new CloudwatchMetricAlarm(this, "alarm", {
      alarmName: `${props.prefix}-read-model-unavailable`,
      alarmDescription:
        "The read model has no generation: projection events wait in their queue and GET /clients answers 503. Unless a rebuild is running, run the reproject_command output",
      namespace,
      metricName: READ_MODEL_UNAVAILABLE_METRIC,
      statistic: "Sum",
      period: 60,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [props.alarmTopic.arn],
      okActions: [props.alarmTopic.arn],
    });
  }
}
