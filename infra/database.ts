import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DbSubnetGroup } from "@cdktf/provider-aws/lib/db-subnet-group";
import { RdsCluster } from "@cdktf/provider-aws/lib/rds-cluster";
import { RdsClusterInstance } from "@cdktf/provider-aws/lib/rds-cluster-instance";
import { RdsClusterParameterGroup } from "@cdktf/provider-aws/lib/rds-cluster-parameter-group";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Construct } from "constructs";
import type { EnvironmentConfig } from "./config";
import { POSTGRES_PORT } from "./network";

export const DATABASE_NAME = "postgres";

export interface DatabaseProps {
  readonly prefix: string;
  readonly config: EnvironmentConfig["database"];
  readonly subnets: ReadonlyArray<Subnet>;
  readonly securityGroup: SecurityGroup;
  readonly logRetentionDays: number;
}

/**
 * The command side's Aurora PostgreSQL 16 cluster, with logical replication on for DMS. The
 * master password lives in a secret RDS manages (`masterUserSecret`); the functions read it.
 */
export class Database extends Construct {
  readonly cluster: RdsCluster;
  readonly writer: RdsClusterInstance;
  readonly reader?: RdsClusterInstance;
  /** ARN of the RDS-managed master secret (`username`, `password`). */
  readonly masterSecretArn: string;
  readonly port = POSTGRES_PORT;
  readonly databaseName = DATABASE_NAME;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { config } = props;
    const subnetGroup = new DbSubnetGroup(this, "subnets", {
      name: `${props.prefix}-database`,
      subnetIds: props.subnets.map((subnet) => subnet.id),
    });
    const parameters = new RdsClusterParameterGroup(this, "parameters", {
      name: `${props.prefix}-aurora-postgresql16`,
      family: "aurora-postgresql16",
      description: "Logical replication for DMS change data capture",
      parameter: [
        // Static parameter: it takes effect at the next reboot, and AWS rejects `immediate`.
        { name: "rds.logical_replication", value: "1", applyMethod: "pending-reboot" },
      ],
    });
    // RDS would create the export's log group with no retention; own it first.
    const logs = new CloudwatchLogGroup(this, "logs", {
      name: `/aws/rds/cluster/${props.prefix}/postgresql`,
      retentionInDays: props.logRetentionDays,
    });
    this.cluster = new RdsCluster(this, "cluster", {
      dependsOn: [logs],
      clusterIdentifier: props.prefix,
      engine: "aurora-postgresql",
      engineVersion: config.engineVersion,
      databaseName: DATABASE_NAME,
      masterUsername: "postgres",
      manageMasterUserPassword: true,
      port: POSTGRES_PORT,
      dbClusterParameterGroupName: parameters.name,
      dbSubnetGroupName: subnetGroup.name,
      vpcSecurityGroupIds: [props.securityGroup.id],
      storageEncrypted: true,
      backupRetentionPeriod: config.backupRetentionDays,
      preferredBackupWindow: "03:00-04:00",
      deletionProtection: config.deletionProtection,
      skipFinalSnapshot: !config.deletionProtection,
      finalSnapshotIdentifier: config.deletionProtection ? `${props.prefix}-final` : undefined,
      copyTagsToSnapshot: true,
      enabledCloudwatchLogsExports: ["postgresql"],
      applyImmediately: !config.deletionProtection,
      // AWS applies minor upgrades (auto_minor_version_upgrade on the instances); a later
      // plan must not try to downgrade the cluster to the pinned version.
      lifecycle: { ignoreChanges: ["engine_version"] },
    });
    this.masterSecretArn = this.cluster.masterUserSecret.get(0).secretArn;
    const instance = (name: string, after?: RdsClusterInstance) =>
      new RdsClusterInstance(this, name, {
        // Aurora makes the first instance the writer: create the reader after it.
        dependsOn: after === undefined ? undefined : [after],
        identifier: `${props.prefix}-${name}`,
        clusterIdentifier: this.cluster.id,
        engine: this.cluster.engine,
        engineVersion: this.cluster.engineVersion,
        instanceClass: config.instanceClass,
        dbSubnetGroupName: subnetGroup.name,
        publiclyAccessible: false,
        autoMinorVersionUpgrade: true,
        lifecycle: { ignoreChanges: ["engine_version"] },
      });
    this.writer = instance("writer");
    if (config.withReader) this.reader = instance("reader", this.writer);
  }
}
