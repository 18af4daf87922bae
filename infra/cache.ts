import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { ElasticacheParameterGroup } from "@cdktf/provider-aws/lib/elasticache-parameter-group";
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
  readonly parameters: ElasticacheParameterGroup;
  /** Ids of the group's nodes (`<group>-001`, ...), which ElastiCache metrics are reported by. */
  readonly nodeIds: ReadonlyArray<string>;
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
    // The default `volatile-lru` would evict the only keys with a TTL, the `applied:` markers,
    // and a routine redelivery would then count an order twice. With `noeviction` a full node
    // refuses writes instead: events fail and wait in SQS, and the memory alarm fires first.
    this.parameters = new ElasticacheParameterGroup(this, "parameters", {
      name: `${props.prefix}-views-redis7`,
      family: "redis7",
      description: "Read model: never evict (exactly-once markers live here)",
      parameter: [{ name: "maxmemory-policy", value: "noeviction" }],
    });
    const failover = props.config.replicas > 0;
    const groupId = `${props.prefix}-views`;
    this.replicationGroup = new ElasticacheReplicationGroup(this, "redis", {
      replicationGroupId: groupId,
      description: "Client views (read model)",
      engine: "redis",
      engineVersion: "7.1",
      parameterGroupName: this.parameters.name,
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
    this.nodeIds = Array.from({ length: 1 + props.config.replicas }, (_, i) => `${groupId}-${String(i + 1).padStart(3, "0")}`);
  }
}
