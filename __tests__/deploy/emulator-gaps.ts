// What moto_server (5.2) cannot do that real AWS does, and so what the deploy suite allows for.
// Kept as small as possible: every entry names the moto behaviour that causes it and why AWS
// differs. An entry that no longer shows up fails the suite, so the list cannot go stale.

/** Account id moto answers with; stand-in ARNs use it. */
export const MOTO_ACCOUNT = "123456789012";

/**
 * A resource moto cannot create. It is left out of the apply (`-target` names everything
 * else), and every attribute of it that another resource reads is given a stand-in value in
 * the working copy's override file, so everything that depends on it is still applied.
 */
export interface Unappliable {
  readonly type: string;
  readonly moto: string;
  readonly aws: string;
  /** Stand-in value of each attribute other resources read, from the resource's own config. */
  readonly standIns: Readonly<Record<string, (config: Readonly<Record<string, unknown>>) => string>>;
}

export const UNAPPLIABLE: ReadonlyArray<Unappliable> = [
  {
    type: "aws_dms_replication_instance",
    moto: "CreateReplicationInstance answers InstanceCreateTime as an ISO string; the provider's SDK expects a JSON number and fails the create",
    aws: "the DMS API returns timestamps as epoch numbers",
    standIns: {
      replication_instance_arn: () => `arn:aws:dms:us-east-1:${MOTO_ACCOUNT}:rep:STANDIN`,
      replication_instance_id: (config) => String(config.replication_instance_id),
    },
  },
  {
    type: "aws_dms_replication_task",
    moto: "CreateReplicationTask answers ReplicationTaskCreationDate as an ISO string: the same decoding failure as the instance",
    aws: "the DMS API returns timestamps as epoch numbers",
    standIns: {
      replication_task_arn: () => `arn:aws:dms:us-east-1:${MOTO_ACCOUNT}:task:STANDIN`,
      replication_task_id: (config) => String(config.replication_task_id),
    },
  },
  {
    type: "aws_elasticache_replication_group",
    moto: "CreateReplicationGroup names member clusters (<group>-001) it never creates, so the provider's DescribeCacheClusters after the create answers CacheClusterNotFound",
    aws: "ElastiCache creates one cache cluster per node of the group",
    standIns: {
      primary_endpoint_address: (config) => `master.${String(config.replication_group_id)}.standin.use1.cache.amazonaws.com`,
    },
  },
  {
    type: "aws_elasticache_subnet_group",
    moto: "moto's ElastiCache creates a cache subnet group but has no DeleteCacheSubnetGroup, so a destroy retries until its timeout",
    aws: "ElastiCache deletes a subnet group no cluster uses",
    standIns: {},
  },
  {
    type: "aws_elasticache_parameter_group",
    moto: "moto's ElastiCache has no CreateCacheParameterGroup",
    aws: "a custom parameter group is how `maxmemory-policy` is set",
    standIns: {},
  },
  {
    type: "aws_dms_event_subscription",
    moto: "moto's DMS has no CreateEventSubscription",
    aws: "DMS publishes task events to SNS through event subscriptions",
    standIns: {},
  },
];

/** One attribute of one change in `terraform show -json`. */
export interface AttributeChange {
  readonly type: string;
  readonly address: string;
  readonly attribute: string;
  readonly before: unknown;
  readonly after: unknown;
}

/**
 * An in-place change the plan right after the apply shows only because moto stores or
 * returns something differently. `explains` says which exact difference it accounts for; a
 * different value of the same attribute is not excused.
 */
export interface PlanGap {
  readonly types: ReadonlyArray<string>;
  readonly attribute: string;
  readonly moto: string;
  readonly aws: string;
  readonly explains: (change: AttributeChange) => boolean;
}

const equalJson = (a: unknown, b: unknown): boolean => typeof a === "string" && typeof b === "string" && JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
const isEmpty = (value: unknown): boolean =>
  value === null || value === undefined || (Array.isArray(value) && value.length === 0) || (typeof value === "object" && Object.keys(value).length === 0);
const RULES = ["aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"];

export const PLAN_GAPS: ReadonlyArray<PlanGap> = [
  {
    types: RULES,
    attribute: "description",
    moto: "AuthorizeSecurityGroupIngress/Egress drops the description of a rule that references a security group",
    aws: "EC2 stores each rule's description",
    explains: ({ before, after }) => before === null && typeof after === "string",
  },
  {
    types: RULES,
    attribute: "referenced_security_group_id",
    moto: "DescribeSecurityGroupRules answers a referenced group as `<account>/<group id>`",
    aws: "EC2 answers the group id alone for a group of the same account",
    explains: ({ before, after }) => before === `${MOTO_ACCOUNT}/${String(after)}`,
  },
  {
    types: ["aws_sqs_queue"],
    attribute: "redrive_policy",
    moto: "GetQueueAttributes answers the redrive policy re-serialized by Python (`\", \"` and `\": \"` separators)",
    aws: "SQS answers the compact JSON the policy was set with",
    explains: ({ before, after }) => before !== after && equalJson(before, after),
  },
  {
    types: ["aws_lambda_function"],
    attribute: "logging_config",
    moto: "CreateFunction ignores LoggingConfig and GetFunction answers none",
    aws: "Lambda keeps the JSON log format and log group it was created with",
    explains: ({ before, after }) => isEmpty(before) && Array.isArray(after) && after.length === 1,
  },
  {
    types: ["aws_kinesis_stream", "aws_dms_replication_subnet_group"],
    attribute: "tags_all",
    moto: "ListTagsForStream / ListTagsForResource answer no tags for tags given at create time",
    aws: "the provider's default tags are applied at create and listed back",
    explains: ({ before, after }) => isEmpty(before) && !isEmpty(after),
  },
  {
    types: ["aws_dms_replication_subnet_group"],
    attribute: "subnet_ids",
    moto: "DescribeReplicationSubnetGroups answers a fixed `subnet-12345` instead of the group's subnets",
    aws: "DMS answers the subnets the group was created with",
    explains: ({ before }) => Array.isArray(before) && before.length === 1 && before[0] === "subnet-12345",
  },
  {
    types: ["aws_rds_cluster"],
    attribute: "scaling_configuration",
    moto: "DescribeDBClusters answers an empty ScalingConfigurationInfo for a provisioned cluster, so the provider reads a block of nulls and plans its defaults",
    aws: "a provisioned Aurora cluster answers no ScalingConfigurationInfo",
    explains: ({ before }) =>
      Array.isArray(before) && before.length === 1 && Object.values(before[0] as Record<string, unknown>).every((value) => value === null),
  },
];
