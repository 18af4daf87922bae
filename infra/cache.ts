import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { ElasticacheReplicationGroup } from "@cdktf/provider-aws/lib/elasticache-replication-group";
import { ElasticacheSubnetGroup } from "@cdktf/provider-aws/lib/elasticache-subnet-group";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Construct } from "constructs";
import type { EnvironmentConfig } from "./config";
import { REDIS_PORT } from "./network";
import { GeneratedSecret } from "./secrets";

export interface CacheProps {
  readonly prefix: string;
  readonly config: EnvironmentConfig["cache"];
  readonly subnets: ReadonlyArray<Subnet>;
  readonly securityGroup: SecurityGroup;
  readonly logRetentionDays: number;
  readonly secretRecoveryDays: number;
}

/**
 * The read model: Redis with TLS, encryption at rest and an AUTH token kept in Secrets
 * Manager (`{ authToken }`, what the functions read). Failover needs a replica, so prod only.
 */
export class Cache extends Construct {
  readonly replicationGroup: ElasticacheReplicationGroup;
  readonly authSecret: GeneratedSecret;
  readonly port = REDIS_PORT;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    this.authSecret = new GeneratedSecret(this, "auth", {
      name: `${props.prefix}/redis-auth`,
      description: "ElastiCache AUTH token of the read model",
      recoveryDays: props.secretRecoveryDays,
      passwordLength: 64,
      value: (password) => ({ authToken: password }),
    });
    const subnetGroup = new ElasticacheSubnetGroup(this, "subnets", {
      name: `${props.prefix}-cache`,
      subnetIds: props.subnets.map((subnet) => subnet.id),
    });
    const logs = new CloudwatchLogGroup(this, "slow-log", {
      name: `/aws/elasticache/${props.prefix}/slow-log`,
      retentionInDays: props.logRetentionDays,
    });
    const failover = props.config.replicas > 0;
    this.replicationGroup = new ElasticacheReplicationGroup(this, "redis", {
      replicationGroupId: `${props.prefix}-views`,
      description: "Client views (read model)",
      engine: "redis",
      engineVersion: "7.1",
      nodeType: props.config.nodeType,
      port: REDIS_PORT,
      numCacheClusters: 1 + props.config.replicas,
      automaticFailoverEnabled: failover,
      multiAzEnabled: failover,
      subnetGroupName: subnetGroup.name,
      securityGroupIds: [props.securityGroup.id],
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: "true",
      authToken: this.authSecret.password,
      snapshotRetentionLimit: failover ? 1 : 0,
      logDeliveryConfiguration: [
        { destination: logs.name, destinationType: "cloudwatch-logs", logFormat: "json", logType: "slow-log" },
      ],
      // The token is read once, at creation; the data source would offer a new one every plan.
      lifecycle: { ignoreChanges: ["auth_token"] },
    });
  }
}
