import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DmsEndpoint } from "@cdktf/provider-aws/lib/dms-endpoint";
import { DmsReplicationInstance } from "@cdktf/provider-aws/lib/dms-replication-instance";
import { DmsReplicationSubnetGroup } from "@cdktf/provider-aws/lib/dms-replication-subnet-group";
import { DmsReplicationTask } from "@cdktf/provider-aws/lib/dms-replication-task";
import { DataAwsIamRole } from "@cdktf/provider-aws/lib/data-aws-iam-role";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { KinesisStream } from "@cdktf/provider-aws/lib/kinesis-stream";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { HEARTBEAT_SCHEMA, OUTBOX_SCHEMA, OUTBOX_TABLE } from "../domain/contracts";
import type { EnvironmentConfig } from "./config";
import { DATABASE_NAME } from "./database";
import { assumeRolePolicy, policyDocument } from "./iam";
import type { GeneratedSecret } from "./secrets";

/** Names DMS looks these roles up by; they are account-wide, created by `cqrs-account`. */
export const DMS_VPC_ROLE = "dms-vpc-role";
export const DMS_LOGS_ROLE = "dms-cloudwatch-logs-role";
export const REPLICATION_USER = "dms_replication";

/** Only the outbox, keyed on Kinesis by its aggregate so one aggregate's events stay in order. */
export const TABLE_MAPPINGS = {
  rules: [
    {
      "rule-type": "selection",
      "rule-id": "1",
      "rule-name": "outbox-only",
      "object-locator": { "schema-name": OUTBOX_SCHEMA, "table-name": OUTBOX_TABLE },
      "rule-action": "include",
    },
    {
      "rule-type": "object-mapping",
      "rule-id": "2",
      "rule-name": "partition-by-aggregate",
      "rule-action": "map-record-to-record",
      "object-locator": { "schema-name": OUTBOX_SCHEMA, "table-name": OUTBOX_TABLE },
      "mapping-parameters": { "partition-key-type": "attribute-name", "partition-key-name": "aggregate_id" },
    },
  ],
};

/**
 * DMS treats `jsonb` as a LOB. Limited LOB mode (what Kinesis targets support) inlines
 * payloads up to LobMaxSize KB; the source fails the task rather than truncate a larger one.
 *
 * Errors stop the task instead of skipping a row: DMS's defaults log a data error and go on,
 * which would drop an outbox event for good. A stopped task raises its event subscription and
 * the CDC alarms (they treat silence as breaching), and resuming it replays from the slot.
 * Recoverable errors (a lost connection, a failover) are retried without limit.
 */
const TASK_SETTINGS = {
  TargetMetadata: { SupportLobs: true, FullLobMode: false, LimitedSizeLobMode: true, LobMaxSize: 64 },
  // A Kinesis target has no table to prepare: the full load only sends the rows as `load` records.
  FullLoadSettings: { TargetTablePrepMode: "DO_NOTHING" },
  Logging: { EnableLogging: true },
  ErrorBehavior: {
    DataErrorPolicy: "STOP_TASK",
    DataTruncationErrorPolicy: "STOP_TASK",
    DataErrorEscalationPolicy: "STOP_TASK",
    TableErrorPolicy: "STOP_TASK",
    TableErrorEscalationPolicy: "STOP_TASK",
    ApplyErrorDeletePolicy: "STOP_TASK",
    ApplyErrorInsertPolicy: "STOP_TASK",
    ApplyErrorUpdatePolicy: "STOP_TASK",
    ApplyErrorEscalationPolicy: "STOP_TASK",
    EventErrorPolicy: "STOP_TASK",
    FailOnNoTablesCaptured: true,
    RecoverableErrorCount: -1,
  },
};

export interface CdcProps {
  readonly prefix: string;
  readonly region: string;
  readonly config: EnvironmentConfig["dms"];
  readonly subnets: ReadonlyArray<Subnet>;
  readonly securityGroup: SecurityGroup;
  readonly stream: KinesisStream;
  readonly key: KmsKey;
  /** The replication user's secret: `username`, `password`, `host`, `port`, as DMS wants it. */
  readonly replicationSecret: GeneratedSecret;
  /** The deploy-time migration: it creates `public.outbox` and the replication user. */
  readonly migration: ITerraformDependable;
  readonly logRetentionDays: number;
}

/** Change data capture: DMS tails Aurora's WAL for `public.outbox` into the Kinesis stream. */
export class Cdc extends Construct {
  readonly instance: DmsReplicationInstance;
  readonly source: DmsEndpoint;
  readonly target: DmsEndpoint;
  readonly task: DmsReplicationTask;

  constructor(scope: Construct, id: string, props: CdcProps) {
    super(scope, id);
    // The account-wide roles belong to `cqrs-account`; reading them here fails the plan, not
    // the apply, when that stack has not been deployed (or the account lacks them).
    const vpcRole = new DataAwsIamRole(this, DMS_VPC_ROLE, { name: DMS_VPC_ROLE });
    const logsRole = new DataAwsIamRole(this, DMS_LOGS_ROLE, { name: DMS_LOGS_ROLE });

    const subnetGroup = new DmsReplicationSubnetGroup(this, "subnets", {
      replicationSubnetGroupId: `${props.prefix}-cdc`,
      replicationSubnetGroupDescription: "DMS in the private subnets",
      subnetIds: props.subnets.map((subnet) => subnet.id),
      // DMS creates the subnet group through dms-vpc-role: it must exist first.
      dependsOn: [vpcRole],
    });
    const instanceId = `${props.prefix}-cdc`;
    this.instance = new DmsReplicationInstance(this, "instance", {
      replicationInstanceId: instanceId,
      replicationInstanceClass: props.config.instanceClass,
      allocatedStorage: props.config.allocatedStorageGb,
      multiAz: props.config.multiAz,
      publiclyAccessible: false,
      replicationSubnetGroupId: subnetGroup.replicationSubnetGroupId,
      vpcSecurityGroupIds: [props.securityGroup.id],
      // 3.5.3 is the first DMS release that supports Aurora PostgreSQL 16 as a source.
      engineVersion: "3.5.4",
      autoMinorVersionUpgrade: true,
      applyImmediately: true,
      // AWS upgrades minor versions itself; a plan must not try to take them back.
      lifecycle: { ignoreChanges: ["engine_version"] },
    });
    // DMS writes task logs to this group; created here it has a retention and goes on destroy.
    const logs = new CloudwatchLogGroup(this, "task-logs", { name: `dms-tasks-${instanceId}`, retentionInDays: props.logRetentionDays });

    const dmsPrincipals = ["dms.amazonaws.com", `dms.${props.region}.amazonaws.com`];
    const secretsRole = new IamRole(this, "source-secret-role", {
      name: `${props.prefix}-dms-source-secret`,
      assumeRolePolicy: assumeRolePolicy(dmsPrincipals),
    });
    const secretsPolicy = new IamRolePolicy(this, "source-secret-policy", {
      role: secretsRole.id,
      name: "read-replication-secret",
      policy: policyDocument([
        { Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: [props.replicationSecret.secret.arn] },
      ]),
    });
    this.source = new DmsEndpoint(this, "source", {
      endpointId: `${props.prefix}-outbox-source`,
      endpointType: "source",
      engineName: "aurora-postgresql",
      databaseName: DATABASE_NAME,
      secretsManagerArn: props.replicationSecret.secret.arn,
      secretsManagerAccessRoleArn: secretsRole.arn,
      sslMode: "require",
      postgresSettings: {
        heartbeatEnable: true,
        heartbeatFrequency: 5,
        // The heartbeat table goes in a schema the migrate step creates, where the replication
        // user has USAGE and CREATE: PostgreSQL 15+ lets no ordinary user create tables in `public`.
        heartbeatSchema: HEARTBEAT_SCHEMA,
        failTasksOnLobTruncation: true,
        // DDL capture makes DMS create an event trigger and `awsdms_ddl_audit` at task start,
        // which needs rds_superuser; the replication user has only rds_replication, so the
        // task would fail to start. The outbox's schema changes through migrations anyway.
        captureDdls: false,
      },
      dependsOn: [secretsPolicy, props.replicationSecret.version],
    });

    const targetRole = new IamRole(this, "target-role", {
      name: `${props.prefix}-dms-kinesis`,
      assumeRolePolicy: assumeRolePolicy("dms.amazonaws.com"),
    });
    const targetPolicy = new IamRolePolicy(this, "target-policy", {
      role: targetRole.id,
      name: "put-records",
      policy: policyDocument([
        { Sid: "PutRecords", Action: ["kinesis:DescribeStream", "kinesis:PutRecord", "kinesis:PutRecords"], Resource: [props.stream.arn] },
        { Sid: "EncryptRecords", Action: ["kms:GenerateDataKey"], Resource: [props.key.arn] },
      ]),
    });
    this.target = new DmsEndpoint(this, "target", {
      endpointId: `${props.prefix}-outbox-stream`,
      endpointType: "target",
      engineName: "kinesis",
      kinesisSettings: {
        streamArn: props.stream.arn,
        serviceAccessRoleArn: targetRole.arn,
        messageFormat: "json",
        includeTransactionDetails: true,
        includePartitionValue: true,
        partitionIncludeSchemaTable: false,
        includeControlDetails: true,
        includeTableAlterOperations: true,
      },
      dependsOn: [targetPolicy],
    });

    this.task = new DmsReplicationTask(this, "task", {
      replicationTaskId: `${props.prefix}-outbox-cdc`,
      // The full load sends every outbox row present when the task starts (orders placed
      // before it ran, or while a replaced task was away) as `load` records; CDC follows
      // from a slot made before the load, so nothing falls between. Rows sent twice are
      // idempotent downstream (event ids). The outbox keeps a row until it is delivered.
      migrationType: "full-load-and-cdc",
      replicationInstanceArn: this.instance.replicationInstanceArn,
      sourceEndpointArn: this.source.endpointArn,
      targetEndpointArn: this.target.endpointArn,
      tableMappings: JSON.stringify(TABLE_MAPPINGS),
      replicationTaskSettings: JSON.stringify(TASK_SETTINGS),
      // Terraform also stops the task before deleting it, so destroy does not hang on it.
      startReplicationTask: true,
      dependsOn: [props.migration, logs, vpcRole, logsRole],
    });
  }
}
