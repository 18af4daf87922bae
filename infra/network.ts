import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { assumeRolePolicy, policyDocument } from "./iam";

export const POSTGRES_PORT = 5432;
export const REDIS_PORT = 6379;
const HTTPS_PORT = 443;

/**
 * AWS APIs the functions and DMS call from inside the VPC (there is no NAT), reached through
 * interface endpoints; `lambda` is for reproject, which pauses the projection's event source mapping.
 */
const INTERFACE_ENDPOINTS = ["secretsmanager", "sqs", "kinesis-streams", "lambda"] as const;

export interface NetworkProps {
  readonly prefix: string;
  readonly cidr: string;
  readonly azCount: number;
  readonly region: string;
  readonly logRetentionDays: number;
}

/** One security group per component; rules connect only the components that talk. */
export interface SecurityGroups {
  readonly functions: SecurityGroup;
  readonly database: SecurityGroup;
  readonly cache: SecurityGroup;
  readonly dms: SecurityGroup;
  readonly endpoints: SecurityGroup;
}

/**
 * A VPC with private subnets only: nothing here needs the internet, so there is no NAT and
 * no internet gateway; the AWS APIs the code calls are interface endpoints. Every flow is
 * logged.
 */
export class Network extends Construct {
  readonly vpc: Vpc;
  readonly privateSubnets: ReadonlyArray<Subnet>;
  readonly securityGroups: SecurityGroups;
  /** The interface endpoints by service, so callers can wait for the ones they need. */
  readonly endpoints: Readonly<Record<(typeof INTERFACE_ENDPOINTS)[number], VpcEndpoint>>;
  /** Every security group rule, so whatever must reach a component first can wait for them. */
  readonly rules: ReadonlyArray<VpcSecurityGroupEgressRule | VpcSecurityGroupIngressRule>;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    if (props.azCount < 2) throw new Error(`the VPC needs 2 or more availability zones, got ${props.azCount}`);

    this.vpc = new Vpc(this, "vpc", {
      cidrBlock: props.cidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: props.prefix },
    });

    const zones = new DataAwsAvailabilityZones(this, "zones", { state: "available" });
    const routes = new RouteTable(this, "private-routes", { vpcId: this.vpc.id, tags: { Name: `${props.prefix}-private` } });
    this.privateSubnets = Array.from({ length: props.azCount }, (_, index) => {
      const subnet = new Subnet(this, `private-${index}`, {
        vpcId: this.vpc.id,
        availabilityZone: Fn.element(zones.names, index),
        cidrBlock: Fn.cidrsubnet(props.cidr, 4, index),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${props.prefix}-private-${index}` },
        // DMS and Lambda release their network interfaces minutes after their owners go.
        timeouts: { delete: "40m" },
      });
      new RouteTableAssociation(this, `private-${index}-routes`, { subnetId: subnet.id, routeTableId: routes.id });
      return subnet;
    });

    const group = (name: string, description: string) =>
      new SecurityGroup(this, `${name}-sg`, {
        name: `${props.prefix}-${name}`,
        description,
        vpcId: this.vpc.id,
        // No inline rules: Terraform then removes AWS's default allow-all egress, and the
        // rule resources below are the whole truth.
        revokeRulesOnDelete: true,
        timeouts: { delete: "40m" },
        tags: { Name: `${props.prefix}-${name}` },
      });
    this.securityGroups = {
      functions: group("functions", "Lambda functions"),
      database: group("database", "Aurora PostgreSQL"),
      cache: group("cache", "ElastiCache Redis"),
      dms: group("dms", "DMS replication instance"),
      endpoints: group("endpoints", "Interface VPC endpoints"),
    };
    const sg = this.securityGroups;
    const rules: Array<VpcSecurityGroupEgressRule | VpcSecurityGroupIngressRule> = [];
    this.rules = rules;
    const allow = (name: string, from: SecurityGroup, to: SecurityGroup, port: number, description: string) => {
      const egress = new VpcSecurityGroupEgressRule(this, `${name}-egress`, {
        securityGroupId: from.id,
        referencedSecurityGroupId: to.id,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        description,
      });
      const ingress = new VpcSecurityGroupIngressRule(this, `${name}-ingress`, {
        securityGroupId: to.id,
        referencedSecurityGroupId: from.id,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        description,
      });
      rules.push(egress, ingress);
    };
    allow("functions-to-database", sg.functions, sg.database, POSTGRES_PORT, "functions to Aurora");
    allow("functions-to-cache", sg.functions, sg.cache, REDIS_PORT, "functions to Redis");
    allow("dms-to-database", sg.dms, sg.database, POSTGRES_PORT, "DMS reads the WAL");
    allow("functions-to-endpoints", sg.functions, sg.endpoints, HTTPS_PORT, "functions to AWS APIs");
    allow("dms-to-endpoints", sg.dms, sg.endpoints, HTTPS_PORT, "DMS to Kinesis and Secrets Manager");

    const endpoints = Object.fromEntries(
      INTERFACE_ENDPOINTS.map((service) => [
        service,
        new VpcEndpoint(this, `${service}-endpoint`, {
          vpcId: this.vpc.id,
          serviceName: `com.amazonaws.${props.region}.${service}`,
          vpcEndpointType: "Interface",
          privateDnsEnabled: true,
          subnetIds: this.privateSubnets.map((subnet) => subnet.id),
          securityGroupIds: [sg.endpoints.id],
          tags: { Name: `${props.prefix}-${service}` },
        }),
      ]),
    );
    this.endpoints = endpoints as Network["endpoints"];

    const flowLogs = new CloudwatchLogGroup(this, "flow-logs", {
      name: `/aws/vpc/${props.prefix}/flow-logs`,
      retentionInDays: props.logRetentionDays,
    });
    const flowLogsRole = new IamRole(this, "flow-logs-role", {
      name: `${props.prefix}-vpc-flow-logs`,
      assumeRolePolicy: assumeRolePolicy("vpc-flow-logs.amazonaws.com"),
    });
    new IamRolePolicy(this, "flow-logs-policy", {
      role: flowLogsRole.id,
      name: "write-flow-logs",
      policy: policyDocument([
        {
          Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          Resource: [flowLogs.arn, `${flowLogs.arn}:*`],
        },
      ]),
    });
    new FlowLog(this, "flow-log", {
      vpcId: this.vpc.id,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: flowLogs.arn,
      iamRoleArn: flowLogsRole.arn,
    });
  }
}
