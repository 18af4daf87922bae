import "cdktf/lib/testing/adapters/jest"; // types of the matchers
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ApiGatewayAccount } from "@cdktf/provider-aws/lib/api-gateway-account";
import { ApiGatewayApiKey } from "@cdktf/provider-aws/lib/api-gateway-api-key";
import { ApiGatewayAuthorizer } from "@cdktf/provider-aws/lib/api-gateway-authorizer";
import { ApiGatewayDeployment } from "@cdktf/provider-aws/lib/api-gateway-deployment";
import { ApiGatewayIntegration } from "@cdktf/provider-aws/lib/api-gateway-integration";
import { ApiGatewayMethod } from "@cdktf/provider-aws/lib/api-gateway-method";
import { ApiGatewayMethodSettings } from "@cdktf/provider-aws/lib/api-gateway-method-settings";
import { ApiGatewayResource } from "@cdktf/provider-aws/lib/api-gateway-resource";
import { ApiGatewayRestApi } from "@cdktf/provider-aws/lib/api-gateway-rest-api";
import { ApiGatewayStage } from "@cdktf/provider-aws/lib/api-gateway-stage";
import { ApiGatewayUsagePlan } from "@cdktf/provider-aws/lib/api-gateway-usage-plan";
import { ApiGatewayUsagePlanKey } from "@cdktf/provider-aws/lib/api-gateway-usage-plan-key";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DmsEndpoint } from "@cdktf/provider-aws/lib/dms-endpoint";
import { DmsReplicationInstance } from "@cdktf/provider-aws/lib/dms-replication-instance";
import { DmsReplicationSubnetGroup } from "@cdktf/provider-aws/lib/dms-replication-subnet-group";
import { ElasticacheReplicationGroup } from "@cdktf/provider-aws/lib/elasticache-replication-group";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { KinesisStream } from "@cdktf/provider-aws/lib/kinesis-stream";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LambdaEventSourceMapping } from "@cdktf/provider-aws/lib/lambda-event-source-mapping";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { PipesPipe } from "@cdktf/provider-aws/lib/pipes-pipe";
import { RdsCluster } from "@cdktf/provider-aws/lib/rds-cluster";
import { RdsClusterInstance } from "@cdktf/provider-aws/lib/rds-cluster-instance";
import { RdsClusterParameterGroup } from "@cdktf/provider-aws/lib/rds-cluster-parameter-group";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { TerraformStack, Testing } from "cdktf";
import { AccountStack } from "../../infra/account-stack";
import { API_GATEWAY_CLOUDWATCH_ROLE } from "../../infra/api";
import { type TABLE_MAPPINGS } from "../../infra/cdc";
import { ACCOUNT, ENVIRONMENTS, STATE } from "../../infra/config";
import { MANAGED_POLICIES } from "../../infra/iam";
import { FUNCTION_NAMES, FUNCTION_TIMEOUTS, type FunctionName } from "../../infra/functions";
import { Stream } from "../../infra/stream";
import { buildApp, stackName } from "../../infra/app";
import type { Bundler } from "../../infra/bundling";
import { accountStack, environmentStack, resourceNamed, resourcesOf, synthesizeAll, withTestApp, type Block, type SynthesizedStack } from "./synth";

Testing.setupJest();
const stacks = synthesizeAll();
const dev = environmentStack(stacks, "dev");
const prod = environmentStack(stacks, "prod");
const account = accountStack(stacks);
const json = (value: unknown) => JSON.parse(String(value)) as Record<string, unknown>;

describe("network", () => {
  it("spans the configured AZs with private subnets only, and logs every flow", () => {
    expect(resourcesOf(dev.json, "aws_subnet")).toHaveLength(ENVIRONMENTS.dev.azCount);
    expect(resourcesOf(prod.json, "aws_subnet")).toHaveLength(ENVIRONMENTS.prod.azCount);
    expect(dev.text).toHaveResourceWithProperties(Subnet, { map_public_ip_on_launch: false, timeouts: { delete: "40m" } });
    expect(resourcesOf(dev.json, "aws_internet_gateway")).toHaveLength(0);
    expect(resourcesOf(dev.json, "aws_nat_gateway")).toHaveLength(0);
    expect(dev.text).toHaveResourceWithProperties(FlowLog, { traffic_type: "ALL", log_destination_type: "cloud-watch-logs" });
  });

  it("reaches Secrets Manager, SQS, Kinesis and Lambda through private interface endpoints", () => {
    for (const service of ["secretsmanager", "sqs", "kinesis-streams", "lambda"]) {
      expect(dev.text).toHaveResourceWithProperties(VpcEndpoint, {
        service_name: `com.amazonaws.us-east-1.${service}`,
        vpc_endpoint_type: "Interface",
        private_dns_enabled: true,
      });
    }
  });

  it("opens only the ports between components that talk", () => {
    const ingress = resourcesOf(dev.json, "aws_vpc_security_group_ingress_rule").map(([name, rule]) => [name, rule.from_port, rule.to_port]);
    expect(ingress.sort()).toEqual(
      [
        ["network_dms-to-database-ingress_48E8DC15", 5432, 5432],
        ["network_dms-to-endpoints-ingress_F0EA1B6A", 443, 443],
        ["network_functions-to-cache-ingress_4A6D3C5F", 6379, 6379],
        ["network_functions-to-database-ingress_2D3C7AB4", 5432, 5432],
        ["network_functions-to-endpoints-ingress_4B79B5A2", 443, 443],
      ].map(([name, from, to]) => [expect.stringContaining(String(name).replace(/_[0-9A-F]{8}$/, "")), from, to]),
    );
    expect(dev.text).toHaveResourceWithProperties(VpcSecurityGroupIngressRule, { from_port: 5432, ip_protocol: "tcp" });
    for (const [, rule] of [...resourcesOf(dev.json, "aws_vpc_security_group_ingress_rule"), ...resourcesOf(dev.json, "aws_vpc_security_group_egress_rule")]) {
      expect(rule.referenced_security_group_id).toMatch(/^\$\{aws_security_group\./);
      expect(rule.cidr_ipv4).toBeUndefined();
    }
    expect(resourcesOf(dev.json, "aws_security_group")).toHaveLength(5);
  });
});

describe("database", () => {
  it("has a cluster parameter group with logical replication applied at reboot, which the cluster uses", () => {
    expect(dev.text).toHaveResourceWithProperties(RdsClusterParameterGroup, {
      family: "aurora-postgresql16",
      parameter: [{ name: "rds.logical_replication", value: "1", apply_method: "pending-reboot" }],
    });
    const cluster = resourceNamed(dev.json, "aws_rds_cluster", "cluster");
    expect(cluster.db_cluster_parameter_group_name).toMatch(/^\$\{aws_rds_cluster_parameter_group\..*\.name\}$/);
  });

  it("is Aurora PostgreSQL 16, encrypted, with a managed master secret, backups, and deletion protection in prod", () => {
    const common = { engine: "aurora-postgresql", storage_encrypted: true, manage_master_user_password: true };
    expect(dev.text).toHaveResourceWithProperties(RdsCluster, { ...common, engine_version: expect.stringMatching(/^16\./), deletion_protection: false, skip_final_snapshot: true, backup_retention_period: 1 });
    expect(prod.text).toHaveResourceWithProperties(RdsCluster, { ...common, deletion_protection: true, skip_final_snapshot: false, backup_retention_period: 14 });
    expect(dev.text).toHaveResourceWithProperties(RdsClusterInstance, { publicly_accessible: false, instance_class: "db.t4g.medium" });
  });

  it("has a writer, and a reader in prod", () => {
    expect(resourcesOf(dev.json, "aws_rds_cluster_instance").map(([name]) => name)).toEqual([expect.stringContaining("writer")]);
    expect(resourcesOf(prod.json, "aws_rds_cluster_instance").map(([name]) => name).sort()).toEqual([expect.stringContaining("reader"), expect.stringContaining("writer")]);
  });
});

describe("DMS", () => {
  it.each([["cqrs-dev", dev], ["cqrs-prod", prod]] as const)(
    "%s reads the account-wide roles by their exact names, creates none, and makes the subnet group and task wait for them",
    (_key, stack) => {
      expect(resourcesOf(stack.json, "aws_iam_role").map(([, role]) => role.name)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^(dms-vpc-role|dms-cloudwatch-logs-role)$|apigateway-cloudwatch/)]),
      );
      expect(resourcesOf(stack.json, "aws_api_gateway_account")).toEqual([]);
      const roles = Object.entries(stack.json.data?.aws_iam_role ?? {});
      const byName = (name: string) => roles.filter(([, role]) => role.name === name).map(([id]) => `data.aws_iam_role.${id}`);
      expect(byName("dms-vpc-role")).toHaveLength(1);
      expect(byName("dms-cloudwatch-logs-role")).toHaveLength(1);
      const subnets = resourceNamed(stack.json, "aws_dms_replication_subnet_group", "cdc");
      expect(subnets.depends_on).toEqual(byName("dms-vpc-role"));
      const task = resourceNamed(stack.json, "aws_dms_replication_task", "task");
      expect(task.depends_on).toEqual(expect.arrayContaining([...byName("dms-vpc-role"), ...byName("dms-cloudwatch-logs-role")]));
      expect(stack.text).toHaveResourceWithProperties(DmsReplicationSubnetGroup, {});
    },
  );

  it("runs a private replication instance", () => {
    expect(dev.text).toHaveResourceWithProperties(DmsReplicationInstance, { publicly_accessible: false, replication_instance_class: "dms.t3.small" });
  });

  it("reads Aurora as the replication user through its own secret, with SSL and heartbeat", () => {
    const source = resourceNamed(dev.json, "aws_dms_endpoint", "source");
    expect(source).toEqual(
      expect.objectContaining({
        endpoint_type: "source",
        engine_name: "aurora-postgresql",
        ssl_mode: "require",
        secrets_manager_arn: expect.stringContaining("replication-user"),
        secrets_manager_access_role_arn: expect.stringContaining("aws_iam_role."),
        // DDL capture needs rds_superuser, which the replication user deliberately lacks.
        postgres_settings: expect.objectContaining({ heartbeat_enable: true, heartbeat_schema: "dms", capture_ddls: false }),
      }),
    );
    const secret = resourceNamed(dev.json, "aws_secretsmanager_secret_version", "replication-user");
    expect(secret.secret_string).toEqual(expect.stringMatching(/username.*dms_replication.*host.*aws_rds_cluster\..*endpoint.*port.*5432/s));
  });

  it("writes JSON with transaction details to Kinesis through a role that may only put records and use the key", () => {
    expect(dev.text).toHaveResourceWithProperties(DmsEndpoint, { endpoint_type: "target", engine_name: "kinesis" });
    expect(resourceNamed(dev.json, "aws_dms_endpoint", "target").kinesis_settings).toEqual(
      expect.objectContaining({ message_format: "json", include_transaction_details: true, stream_arn: expect.stringContaining("aws_kinesis_stream.") }),
    );
    const policy = json(resourceNamed(dev.json, "aws_iam_role_policy", "target-policy").policy);
    expect(policy.Statement).toEqual([
      expect.objectContaining({ Action: ["kinesis:DescribeStream", "kinesis:PutRecord", "kinesis:PutRecords"], Resource: [expect.stringContaining("aws_kinesis_stream.")] }),
      expect.objectContaining({ Action: ["kms:GenerateDataKey"], Resource: [expect.stringContaining("aws_kms_key.")] }),
    ]);
  });

  it("captures public.outbox, rows already there included, partitioned by aggregate_id, carrying the jsonb payload, started after the migration", () => {
    const task = resourceNamed(dev.json, "aws_dms_replication_task", "task");
    // A CDC-only task would never send the orders placed before it started.
    expect(task).toEqual(expect.objectContaining({ migration_type: "full-load-and-cdc", start_replication_task: true }));
    const mappings = json(task.table_mappings) as typeof TABLE_MAPPINGS;
    expect(mappings.rules).toContainEqual({
      "rule-type": "selection",
      "rule-id": expect.any(String),
      "rule-name": expect.any(String),
      "object-locator": { "schema-name": "public", "table-name": "outbox" },
      "rule-action": "include",
    });
    expect(new Set(mappings.rules.map((rule) => rule["rule-id"])).size).toBe(mappings.rules.length);
    expect(mappings.rules).toContainEqual(
      expect.objectContaining({
        "rule-type": "object-mapping",
        "object-locator": { "schema-name": "public", "table-name": "outbox" },
        "mapping-parameters": expect.objectContaining({ "partition-key-type": "attribute-name", "partition-key-name": "aggregate_id" }),
      }),
    );
    expect(json(task.replication_task_settings)).toEqual(expect.objectContaining({ TargetMetadata: expect.objectContaining({ SupportLobs: true, LimitedSizeLobMode: true }) }));
    expect(task.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_lambda_invocation\./)]));
  });

  it("stops the task on any data, table or apply error instead of skipping the row, and retries recoverable errors forever", () => {
    const task = resourceNamed(dev.json, "aws_dms_replication_task", "task");
    const behavior = (json(task.replication_task_settings) as { ErrorBehavior: Record<string, unknown> }).ErrorBehavior;
    const policies = Object.entries(behavior).filter(([name]) => name.endsWith("Policy"));
    expect(policies.map(([name]) => name).sort()).toEqual(
      [
        "ApplyErrorDeletePolicy",
        "ApplyErrorEscalationPolicy",
        "ApplyErrorInsertPolicy",
        "ApplyErrorUpdatePolicy",
        "DataErrorEscalationPolicy",
        "DataErrorPolicy",
        "DataTruncationErrorPolicy",
        "EventErrorPolicy",
        "TableErrorEscalationPolicy",
        "TableErrorPolicy",
      ].sort(),
    );
    for (const [name, value] of policies) expect([name, value]).toEqual([name, "STOP_TASK"]);
    expect(behavior).toEqual(expect.objectContaining({ RecoverableErrorCount: -1, FailOnNoTablesCaptured: true }));
  });

  it("tells the alarm topic of the task's failures and state changes", () => {
    const subscription = resourceNamed(dev.json, "aws_dms_event_subscription", "dms-task-events");
    expect(subscription).toEqual(
      expect.objectContaining({
        source_type: "replication-task",
        event_categories: expect.arrayContaining(["failure", "state change"]),
        sns_topic_arn: expect.stringContaining("aws_sns_topic.observability_alarms"),
        source_ids: [expect.stringContaining("aws_dms_replication_task.cdc_task")],
        enabled: true,
      }),
    );
    const key = json(resourceNamed(dev.json, "aws_kms_key", "key").policy) as { Statement: Array<{ Sid: string; Principal: unknown; Action: string[] }> };
    expect(key.Statement).toContainEqual(
      expect.objectContaining({ Sid: "DmsEventsPublish", Principal: { Service: "dms.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey"] }),
    );
  });
});

describe("stream", () => {
  it("is KMS-encrypted, on demand in dev and provisioned in prod", () => {
    expect(dev.text).toHaveResourceWithProperties(KinesisStream, { encryption_type: "KMS", stream_mode_details: { stream_mode: "ON_DEMAND" } });
    expect(prod.text).toHaveResourceWithProperties(KinesisStream, { encryption_type: "KMS", shard_count: 2, stream_mode_details: { stream_mode: "PROVISIONED" } });
  });

  it("synthesizes on its own, in a stack of its own", () => {
    const text = withTestApp((app) => {
      const scope = new TerraformStack(app, "stack");
      const key = new KmsKey(scope, "key", {});
      new Stream(scope, "stream", { prefix: "t", key, config: { mode: "PROVISIONED", shards: 3 } });
      return Testing.synth(scope);
    });
    expect(text).toHaveResourceWithProperties(KinesisStream, { name: "t-outbox", shard_count: 3, encryption_type: "KMS" });
    expect(text).toHaveResourceWithProperties(KmsKey, {});
  });
});

describe("pipe", () => {
  it("reads Kinesis from the trim horizon in small, bisected batches retried without limit (it never discards), enriches, publishes to SNS, logs", () => {
    const pipe = resourceNamed(dev.json, "aws_pipes_pipe", "pipe");
    expect(pipe.source).toMatch(/aws_kinesis_stream\./);
    expect(pipe.enrichment).toMatch(/aws_lambda_function\.functions_enrich-outbox/);
    expect(pipe.target).toMatch(/aws_sns_topic\.fanout_events/);
    expect(dev.text).toHaveResourceWithProperties(PipesPipe, { desired_state: "RUNNING" });
    expect(pipe).toEqual(
      expect.objectContaining({
        source_parameters: {
          kinesis_stream_parameters: expect.objectContaining({
            starting_position: "TRIM_HORIZON",
            batch_size: 10,
            maximum_retry_attempts: -1,
            maximum_record_age_in_seconds: -1,
            on_partial_batch_item_failure: "AUTOMATIC_BISECT",
          }),
        },
        log_configuration: { level: "ERROR", cloudwatch_logs_log_destination: { log_group_arn: expect.stringContaining("aws_cloudwatch_log_group.") } },
      }),
    );
    const kinesis = (pipe.source_parameters as { kinesis_stream_parameters: Record<string, unknown> & { batch_size: number } }).kinesis_stream_parameters;
    expect(kinesis.batch_size).toBeLessThanOrEqual(10);
    // A stream source's dead-letter queue gets a description of the batch, not its records.
    expect(kinesis).not.toHaveProperty("dead_letter_config");
    // A blocked shard has a week before Kinesis itself expires its records.
    expect(dev.text).toHaveResourceWithProperties(KinesisStream, { retention_period: 168 });
  });

  it("has its own least-privilege role", () => {
    const policy = json(resourceNamed(dev.json, "aws_iam_role_policy", "pipe_policy").policy) as { Statement: Array<{ Action: string[] }> };
    expect(policy.Statement.flatMap((s) => s.Action).sort()).toEqual(
      [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
        "kinesis:ListStreams",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "lambda:InvokeFunction",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sns:Publish",
      ].sort(),
    );
  });
});

describe("fan-out", () => {
  it("publishes on a KMS-encrypted topic, delivered raw to the two queues", () => {
    expect(dev.text).toHaveResourceWithProperties(SnsTopic, { name: "cqrs-dev-events", kms_master_key_id: expect.stringContaining("aws_kms_key.") });
    expect(resourcesOf(dev.json, "aws_sns_topic_subscription")).toHaveLength(2);
    expect(dev.text).toHaveResourceWithProperties(SnsTopicSubscription, { protocol: "sqs", raw_message_delivery: true });
  });

  it.each([
    ["projection", "project-client-view"],
    ["outbox-purge", "purge-outbox"],
  ] as const)("gives the %s queue SSE-SQS, a DLQ, a visibility timeout >= its consumer's and a topic-only policy", (queue, consumer) => {
    const q = resourceNamed(dev.json, "aws_sqs_queue", `fanout_${queue}_`);
    expect(q.sqs_managed_sse_enabled).toBe(true);
    expect(q.visibility_timeout_seconds).toBeGreaterThanOrEqual(FUNCTION_TIMEOUTS[consumer]);
    expect(json(q.redrive_policy)).toEqual({ deadLetterTargetArn: expect.stringContaining(`${queue}-dlq`), maxReceiveCount: 5 });
    const policy = json(resourceNamed(dev.json, "aws_sqs_queue_policy", `${queue}-policy`).policy);
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Condition: { ArnEquals: { "aws:SourceArn": expect.stringContaining("aws_sns_topic.fanout_events") } },
      }),
    ]);
  });

  it("has the quarantine queue", () => {
    expect(dev.text).toHaveResourceWithProperties(SqsQueue, { name: "cqrs-dev-quarantine", sqs_managed_sse_enabled: true });
  });
});

describe("functions", () => {
  it("bundles every handler into an asset and runs it on nodejs22.x arm64 in the private subnets", () => {
    for (const name of FUNCTION_NAMES) {
      const fn = resourceNamed(dev.json, "aws_lambda_function", `functions_${name}_function`);
      expect(fn).toEqual(
        expect.objectContaining({
          function_name: `cqrs-dev-${name}`,
          runtime: "nodejs22.x",
          architectures: ["arm64"],
          handler: "index.handler",
          filename: expect.stringMatching(/^assets\/.*\.zip$/),
          source_code_hash: expect.any(String),
          role: expect.stringContaining(`aws_iam_role.functions_${name}_role`),
          vpc_config: { subnet_ids: expect.arrayContaining([expect.stringContaining("aws_subnet.")]), security_group_ids: [expect.stringContaining("functions-sg")] },
          logging_config: expect.objectContaining({ log_group: expect.stringContaining("aws_cloudwatch_log_group.") }),
        }),
      );
    }
  });

  it("hands each handler the environment it reads", () => {
    const env = (name: string) => (resourceNamed(dev.json, "aws_lambda_function", `functions_${name}_function`).environment as { variables: Record<string, string> }).variables;
    const database = {
      DB_HOST: expect.stringContaining("aws_rds_cluster."),
      DB_PORT: "5432",
      DB_NAME: "postgres",
      DB_SECRET_ARN: expect.stringMatching(/aws_rds_cluster\..*\.master_user_secret\[0\]\.secret_arn/),
      NODE_EXTRA_CA_CERTS: "/var/runtime/ca-cert.pem",
      DB_POOL_MAX: expect.stringMatching(/^\d+$/),
    };
    const redis = { REDIS_HOST: expect.stringContaining("primary_endpoint_address"), REDIS_PORT: "6379", REDIS_AUTH_SECRET_ARN: expect.stringContaining("cache_auth") };
    expect(env("place-order")).toEqual(expect.objectContaining(database));
    expect(env("purge-outbox")).toEqual(expect.objectContaining(database));
    expect(env("migrate")).toEqual(expect.objectContaining({ ...database, DB_POOL_MAX: "1", REPLICATION_SECRET_ARN: expect.stringContaining("replication-user") }));
    expect(env("get-client")).toEqual(expect.objectContaining(redis));
    expect(env("project-client-view")).toEqual(expect.objectContaining(redis));
    expect(env("enrich-outbox")).toEqual(expect.objectContaining({ QUARANTINE_QUEUE_URL: expect.stringContaining("quarantine") }));
    expect(env("authorizer")).toEqual(expect.objectContaining({ CREDENTIALS_SECRET_ARN: expect.stringContaining("api-credentials") }));
  });

  it("caps the concurrency of what writes to the database", () => {
    expect(dev.text).toHaveResourceWithProperties(LambdaFunction, { function_name: "cqrs-dev-place-order", reserved_concurrent_executions: 10 });
    expect(dev.text).toHaveResourceWithProperties(LambdaFunction, { function_name: "cqrs-dev-migrate", reserved_concurrent_executions: 1 });
    expect(dev.text).toHaveResourceWithProperties(LambdaEventSourceMapping, { scaling_config: { maximum_concurrency: 2 } });
  });

  it("consumes both queues with ReportBatchItemFailures", () => {
    const mappings = resourcesOf(dev.json, "aws_lambda_event_source_mapping").map(([, m]) => m);
    expect(mappings).toHaveLength(2);
    for (const m of mappings) expect(m.function_response_types).toEqual(["ReportBatchItemFailures"]);
    expect(mappings.map((m) => m.event_source_arn).sort()).toEqual([expect.stringContaining("outbox-purge"), expect.stringContaining("projection")]);
  });
});

describe("reproject", () => {
  const fn = resourceNamed(dev.json, "aws_lambda_function", "functions_reproject_function");
  const [mappingName] = resourcesOf(dev.json, "aws_lambda_event_source_mapping").find(([, m]) => String(m.event_source_arn).includes("projection"))!;

  it("is one run at a time, with Lambda's longest timeout", () => {
    expect(fn).toEqual(expect.objectContaining({ function_name: "cqrs-dev-reproject", timeout: 900, reserved_concurrent_executions: 1 }));
    expect(FUNCTION_TIMEOUTS.reproject).toBe(900);
  });

  it("reads the database and Redis, and knows the projection queue's mapping, not the purge's", () => {
    const variables = (fn.environment as { variables: Record<string, string> }).variables;
    expect(variables).toEqual(
      expect.objectContaining({
        DB_HOST: expect.stringContaining("aws_rds_cluster."),
        DB_SECRET_ARN: expect.stringContaining("master_user_secret"),
        DB_POOL_MAX: "1",
        REDIS_HOST: expect.stringContaining("primary_endpoint_address"),
        REDIS_AUTH_SECRET_ARN: expect.stringContaining("cache_auth"),
        PROJECTION_MAPPING_UUID: `\${aws_lambda_event_source_mapping.${mappingName}.uuid}`,
      }),
    );
  });

  it("may pause and resume only the projection queue's mapping, and read the two secrets", () => {
    const policy = json(resourceNamed(dev.json, "aws_iam_role_policy", "functions_reproject_policy").policy) as { Statement: Array<{ Sid: string; Action: string[]; Resource: string[] }> };
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    expect(bySid.PauseProjectionConsumer).toEqual(
      expect.objectContaining({
        Action: ["lambda:UpdateEventSourceMapping", "lambda:GetEventSourceMapping"],
        Resource: [`\${aws_lambda_event_source_mapping.${mappingName}.arn}`],
      }),
    );
    expect(bySid.ReadSecrets?.Resource).toEqual([expect.stringContaining("master_user_secret"), expect.stringContaining("cache_auth")]);
    expect(policy.Statement.map((s) => s.Sid).sort()).toEqual(["Logs", "PauseProjectionConsumer", "ReadSecrets", "VpcNetworkInterfaces"]);
  });

  it("is started by the reproject_command output, which waits for the whole rebuild", () => {
    expect(dev.json.output?.reproject_command?.value).toMatch(
      /^aws lambda invoke --region us-east-1 --function-name \$\{aws_lambda_function\.functions_reproject_function_[A-Z0-9]+\.function_name\} --cli-read-timeout 0 reproject\.json && cat reproject\.json$/,
    );
  });
});

describe("cache", () => {
  it("is Redis with TLS, encryption at rest and an AUTH token from the generated secret; failover in prod", () => {
    const common = { engine: "redis", transit_encryption_enabled: true, at_rest_encryption_enabled: "true", auth_token: expect.stringContaining("aws_secretsmanager_random_password") };
    expect(dev.text).toHaveResourceWithProperties(ElasticacheReplicationGroup, { ...common, automatic_failover_enabled: false, num_cache_clusters: 1 });
    expect(prod.text).toHaveResourceWithProperties(ElasticacheReplicationGroup, { ...common, automatic_failover_enabled: true, multi_az_enabled: true, num_cache_clusters: 2 });
    expect(resourceNamed(dev.json, "aws_secretsmanager_secret_version", "cache_auth").secret_string).toMatch(/authToken/);
  });

  it("never evicts: the exactly-once markers are the only keys with a TTL, the first volatile-lru would take", () => {
    for (const stack of [dev, prod]) {
      const [id, group] = resourcesOf(stack.json, "aws_elasticache_parameter_group")[0]!;
      expect(group).toEqual(expect.objectContaining({ family: "redis7", parameter: [{ name: "maxmemory-policy", value: "noeviction" }] }));
      expect(resourceNamed(stack.json, "aws_elasticache_replication_group", "cache_redis").parameter_group_name).toBe(`\${aws_elasticache_parameter_group.${id}.name}`);
    }
  });

  it("alarms on the memory use of every node, which a full node shows before it refuses writes", () => {
    const memory = (stack: typeof dev) =>
      resourcesOf(stack.json, "aws_cloudwatch_metric_alarm")
        .map(([, a]) => a as Block & { metric_name: string; dimensions: Record<string, string> })
        .filter((a) => a.metric_name === "DatabaseMemoryUsagePercentage")
        .map((a) => a.dimensions.CacheClusterId);
    expect(memory(dev)).toEqual(["cqrs-dev-views-001"]);
    expect(memory(prod).sort()).toEqual(["cqrs-prod-views-001", "cqrs-prod-views-002"]);
  });
});

describe("API", () => {
  it("is OrdersAPI with POST /orders and GET /clients/{id_client}, Lambda proxy integrations and their permissions", () => {
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayRestApi, { name: "OrdersAPI", api_key_source: "AUTHORIZER" });
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayResource, { path_part: "{id_client}" });
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayMethod, { http_method: "POST", authorization: "CUSTOM", api_key_required: true });
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayMethod, { http_method: "GET", request_parameters: { "method.request.path.id_client": true } });
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayIntegration, { type: "AWS_PROXY", integration_http_method: "POST" });
    const permissions = resourcesOf(dev.json, "aws_lambda_permission").map(([, p]) => p);
    expect(permissions.map((p) => p.source_arn).sort()).toEqual([
      expect.stringMatching(/\/\*\/GET\/clients\/\*$/),
      expect.stringMatching(/\/\*\/POST\/orders$/),
      expect.stringMatching(/\/authorizers\/\$\{aws_api_gateway_authorizer\./),
    ].sort((a, b) => String(a).localeCompare(String(b))));
    for (const p of permissions) expect(p.principal).toBe("apigateway.amazonaws.com");
  });

  it("authorizes with the Lambda authorizer on the Authorization header", () => {
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayAuthorizer, {
      type: "REQUEST",
      identity_source: "method.request.header.Authorization",
      authorizer_uri: expect.stringContaining("functions_authorizer_function"),
    });
  });

  it("leaves the account's CloudWatch role to cqrs-account, deploys the stage after it, and redeploys when the API changes", () => {
    for (const stack of [dev, prod]) {
      expect(stack.text).not.toHaveResourceWithProperties(ApiGatewayAccount, {});
      const [id, role] = Object.entries(stack.json.data?.aws_iam_role ?? {}).find(([, r]) => r.name === API_GATEWAY_CLOUDWATCH_ROLE) ?? [];
      expect(role).toBeDefined();
      expect(resourceNamed(stack.json, "aws_api_gateway_stage", "stage").depends_on).toContain(`data.aws_iam_role.${id}`);
    }
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayDeployment, {
      triggers: { redeployment: expect.stringMatching(/^\$\{sha1\(jsonencode\(/) },
      lifecycle: { create_before_destroy: true },
    });
    // In-place changes (an integration's URI, the authorizer's settings) redeploy too, not only replacements.
    const redeployment = (resourceNamed(dev.json, "aws_api_gateway_deployment", "deployment").triggers as { redeployment: string }).redeployment;
    for (const attribute of ["-integration_[0-9A-F]+\\.uri", "-method_[0-9A-F]+\\.authorization", "aws_api_gateway_authorizer\\..*\\.identity_source", "apiKeyRequired=true authorizerTtl=300"]) {
      expect(redeployment).toMatch(new RegExp(attribute));
    }
  });

  it("serves stage prod with JSON access logs and throttling", () => {
    const stage = resourceNamed(dev.json, "aws_api_gateway_stage", "stage");
    expect(stage.stage_name).toBe("prod");
    const settings = stage.access_log_settings as { destination_arn: string; format: string };
    expect(settings.destination_arn).toContain("aws_cloudwatch_log_group.");
    expect(JSON.parse(settings.format)).toEqual(expect.objectContaining({ requestId: "$context.requestId", status: "$context.status" }));
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayMethodSettings, {
      method_path: "*/*",
      settings: { throttling_rate_limit: 50, throttling_burst_limit: 100, metrics_enabled: true, logging_level: "ERROR" },
    });
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayStage, { stage_name: "prod" });
  });

  it("has the admin_key of base64(user:pass) in a usage plan, and the credentials in Secrets Manager", () => {
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayApiKey, { name: "admin_key", value: expect.stringMatching(/^\$\{base64encode\("admin:\$\{data\.aws_secretsmanager_random_password\./) });
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayUsagePlan, { throttle_settings: { rate_limit: 50, burst_limit: 100 } });
    expect(dev.text).toHaveResourceWithProperties(ApiGatewayUsagePlanKey, { key_type: "API_KEY" });
    expect(resourceNamed(dev.json, "aws_secretsmanager_secret_version", "api-credentials").secret_string).toMatch(/username.*admin.*password/);
  });
});

describe("deploy-time migration", () => {
  /** The dev stack synthesized with one-line bundles, the one of `changed` (if any) edited. */
  const devWith = (changed?: FunctionName): SynthesizedStack =>
    withTestApp((testApp, outDir) => {
      const bundler: Bundler = (entry) => {
        const name = path.basename(entry, ".ts");
        const dir = path.join(outDir, "bundles", name);
        mkdirSync(dir, { recursive: true });
        const source = `exports.handler = async () => ${JSON.stringify(name === changed ? `${name}, edited` : name)};\n`;
        writeFileSync(path.join(dir, "index.js"), source);
        return { entry, dir, bytes: Buffer.byteLength(source) };
      };
      const app = buildApp(testApp, { bundler });
      return JSON.parse(Testing.synth(app.node.findChild(stackName("dev")) as TerraformStack)) as SynthesizedStack;
    });
  const triggerOf = (stack: SynthesizedStack) => resourceNamed(stack, "aws_lambda_invocation", "migration").triggers;
  const migrateHashOf = (stack: SynthesizedStack) => resourceNamed(stack, "aws_lambda_function", "functions_migrate_function").source_code_hash;

  it("invokes the migrate function once the database is reachable", () => {
    const invocation = resourceNamed(dev.json, "aws_lambda_invocation", "migration");
    expect(invocation.function_name).toEqual(expect.stringContaining("functions_migrate_function"));
    expect(invocation.depends_on).toEqual(
      expect.arrayContaining([
        expect.stringContaining("aws_rds_cluster_instance."),
        expect.stringContaining("aws_vpc_endpoint."),
        // The function reaches Aurora and Secrets Manager only once these rules exist.
        expect.stringMatching(/^aws_vpc_security_group_egress_rule\.network_functions-to-database-egress/),
        expect.stringMatching(/^aws_vpc_security_group_ingress_rule\.network_functions-to-database-ingress/),
        expect.stringMatching(/^aws_vpc_security_group_egress_rule\.network_functions-to-endpoints-egress/),
        expect.stringMatching(/^aws_vpc_security_group_ingress_rule\.network_functions-to-endpoints-ingress/),
      ]),
    );
  });

  it("invokes it again exactly when the migrate bundle changes (migrations, seed, grants), not when another handler does", () => {
    const before = devWith();
    expect(triggerOf(before)).toEqual({ bundle: migrateHashOf(before) });
    expect(migrateHashOf(before)).toEqual(expect.stringMatching(/^[0-9A-F]{32,}$/i));

    const migrateEdited = devWith("migrate");
    expect(migrateHashOf(migrateEdited)).not.toEqual(migrateHashOf(before));
    expect(triggerOf(migrateEdited)).toEqual({ bundle: migrateHashOf(migrateEdited) });

    expect(triggerOf(devWith("place-order"))).toEqual(triggerOf(before));
  });
});

describe("alarms and outputs", () => {
  const alarms = (stack: typeof dev) => resourcesOf(stack.json, "aws_cloudwatch_metric_alarm").map(([, a]) => a as Block & { metric_name: string; namespace: string; dimensions: Record<string, string> });

  it("alarms on every dead-letter queue and the quarantine, DMS CDC latency, Kinesis iterator age, function errors and throttles", () => {
    const all = alarms(dev);
    const queueAlarms = all.filter((a) => a.metric_name === "ApproximateNumberOfMessagesVisible").map((a) => a.dimensions.QueueName);
    expect(queueAlarms).toHaveLength(3);
    for (const q of ["projection-dlq", "outbox-purge-dlq", "quarantine"]) expect(queueAlarms).toContainEqual(expect.stringContaining(q));
    expect(all.filter((a) => a.namespace === "AWS/DMS").map((a) => a.metric_name).sort()).toEqual(["CDCLatencySource", "CDCLatencyTarget"]);
    expect(dev.text).toHaveResourceWithProperties(CloudwatchMetricAlarm, { namespace: "AWS/Kinesis", metric_name: "GetRecords.IteratorAgeMilliseconds" });
    // A stopped task or a stopped Pipe reports nothing at all: that silence must alarm.
    for (const a of all.filter((a) => a.namespace === "AWS/DMS" || a.namespace === "AWS/Kinesis")) expect([a.metric_name, a.treat_missing_data]).toEqual([a.metric_name, "breaching"]);
    for (const metric of ["Errors", "Throttles"]) {
      expect(all.filter((a) => a.namespace === "AWS/Lambda" && a.metric_name === metric)).toHaveLength(FUNCTION_NAMES.length);
    }
    for (const a of all) expect(a.alarm_actions).toEqual([expect.stringContaining("aws_sns_topic.observability_alarms")]);
  });

  it("outputs the invoke URL, the credentials secret and how to read it, the stream and topic names", () => {
    const outputs = dev.json.output ?? {};
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(["invoke_url", "credentials_secret_arn", "credentials_command", "stream_name", "topic_name"]));
    expect(outputs.credentials_command?.value).toMatch(/^aws secretsmanager get-secret-value .*--secret-id \$\{aws_secretsmanager_secret\..*\.arn\} --query SecretString --output text$/);
    expect(outputs.invoke_url?.value).toMatch(/aws_api_gateway_stage\..*\.invoke_url/);
  });
});

describe("account stack", () => {
  const trust = (role: Block) => json(role.assume_role_policy);
  const roleNamed = (stack: { json: typeof account.json }, name: string) => {
    const found = resourcesOf(stack.json, "aws_iam_role").filter(([, role]) => role.name === name);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const attachmentsOf = (stack: { json: typeof account.json }, id: string) =>
    resourcesOf(stack.json, "aws_iam_role_policy_attachment").filter(([, a]) => a.role === `\${aws_iam_role.${id}.name}`).map(([, a]) => a.policy_arn);

  it.each([
    ["dms-vpc-role", "dms.amazonaws.com", MANAGED_POLICIES.dmsVpc],
    ["dms-cloudwatch-logs-role", "dms.amazonaws.com", MANAGED_POLICIES.dmsCloudWatchLogs],
    [API_GATEWAY_CLOUDWATCH_ROLE, "apigateway.amazonaws.com", MANAGED_POLICIES.apiGatewayCloudWatchLogs],
  ])("creates %s, trusted by %s only, with exactly %s attached", (name, principal, policyArn) => {
    const [id, role] = roleNamed(account, name);
    expect(trust(role)).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: principal }, Action: "sts:AssumeRole" }],
    });
    expect(attachmentsOf(account, id)).toEqual([policyArn]);
  });

  it("has the DMS managed policy ARNs AWS documents", () => {
    expect(MANAGED_POLICIES.dmsVpc).toBe("arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole");
    expect(MANAGED_POLICIES.dmsCloudWatchLogs).toBe("arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole");
    expect(MANAGED_POLICIES.apiGatewayCloudWatchLogs).toBe("arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs");
  });

  it("points API Gateway's account settings at its CloudWatch role, once the policy is attached", () => {
    const [id] = roleNamed(account, API_GATEWAY_CLOUDWATCH_ROLE);
    const settings = resourcesOf(account.json, "aws_api_gateway_account");
    expect(settings).toHaveLength(1);
    expect(settings[0]![1]).toEqual(
      expect.objectContaining({
        cloudwatch_role_arn: `\${aws_iam_role.${id}.arn}`,
        depends_on: [expect.stringMatching(/^aws_iam_role_policy_attachment\./)],
      }),
    );
    expect(account.text).toHaveResourceWithProperties(ApiGatewayAccount, { cloudwatch_role_arn: expect.stringContaining("aws_iam_role.") });
  });

  it("holds only the account-wide roles and settings", () => {
    expect(Object.keys(account.json.resource ?? {}).sort()).toEqual(["aws_api_gateway_account", "aws_iam_role", "aws_iam_role_policy_attachment"]);
    expect(resourcesOf(account.json, "aws_iam_role").map(([, role]) => role.name).sort()).toEqual(
      ["dms-cloudwatch-logs-role", "dms-vpc-role", API_GATEWAY_CLOUDWATCH_ROLE].sort(),
    );
    expect(ACCOUNT).toEqual(expect.objectContaining({ createDmsVpcRole: true, createDmsCloudWatchLogsRole: true }));
  });

  it("leaves out the DMS roles an account already has", () => {
    const text = withTestApp((app) =>
      Testing.synth(new AccountStack(app, "cqrs-account", { account: { ...ACCOUNT, createDmsVpcRole: false, createDmsCloudWatchLogsRole: false }, state: STATE })),
    );
    expect(text).not.toHaveResourceWithProperties(IamRole, { name: "dms-vpc-role" });
    expect(text).not.toHaveResourceWithProperties(IamRole, { name: "dms-cloudwatch-logs-role" });
    expect(text).toHaveResourceWithProperties(IamRole, { name: API_GATEWAY_CLOUDWATCH_ROLE });
    expect(text).toHaveResourceWithProperties(IamRolePolicyAttachment, { policy_arn: MANAGED_POLICIES.apiGatewayCloudWatchLogs });
    expect(text).toHaveResourceWithProperties(ApiGatewayAccount, {});
    const onlyVpc = withTestApp((app) => Testing.synth(new AccountStack(app, "cqrs-account", { account: { ...ACCOUNT, createDmsVpcRole: false }, state: STATE })));
    expect(onlyVpc).not.toHaveResourceWithProperties(IamRole, { name: "dms-vpc-role" });
    expect(onlyVpc).toHaveResourceWithProperties(IamRole, { name: "dms-cloudwatch-logs-role" });
  });
});
