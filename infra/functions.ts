import { existsSync } from "node:fs";
import path from "node:path";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaEventSourceMapping } from "@cdktf/provider-aws/lib/lambda-event-source-mapping";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { AssetType, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { QUEUE_BATCH_SIZE } from "../domain/contracts";
import type { Bundler } from "./bundling";
import type { EnvironmentConfig } from "./config";
import { assumeRolePolicy, policyDocument, type Statement } from "./iam";

/** Every Lambda entry point in handlers/, by the name its file and function carry. */
export const FUNCTION_NAMES = [
  "place-order",
  "get-client",
  "migrate",
  "enrich-outbox",
  "project-client-view",
  "purge-outbox",
  "authorizer",
  "reproject",
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Timeouts in seconds; the SQS queues size their visibility timeouts from these. */
export const FUNCTION_TIMEOUTS: Readonly<Record<FunctionName, number>> = {
  "place-order": 10,
  "get-client": 5,
  migrate: 120,
  "enrich-outbox": 30,
  "project-client-view": 30,
  "purge-outbox": 30,
  authorizer: 5,
  // Lambda's longest: a rebuild reads every client; it stops itself a minute before.
  reproject: 900,
};

/** Lambda's root CA bundle holds the RDS CAs; node verifies Aurora's certificate against it. */
const RDS_CA_BUNDLE = "/var/runtime/ca-cert.pem";

/**
 * Attaching to a VPC needs these EC2 actions; AWS documents them with `Resource: "*"`
 * (the network interfaces do not exist yet when they are authorized).
 */
export const VPC_ACCESS_ACTIONS = [
  "ec2:CreateNetworkInterface",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "ec2:DeleteNetworkInterface",
  "ec2:AssignPrivateIpAddresses",
  "ec2:UnassignPrivateIpAddresses",
] as const;

export interface NodeFunctionProps {
  readonly prefix: string;
  readonly name: FunctionName;
  readonly entry: string;
  readonly bundler: Bundler;
  readonly description: string;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
  /** What the function may do besides logging and attaching to the VPC. */
  readonly statements: ReadonlyArray<Statement>;
  readonly subnets: ReadonlyArray<Subnet>;
  readonly securityGroup: SecurityGroup;
  readonly logRetentionDays: number;
  readonly reservedConcurrency?: number;
}

/** One handler: its bundle, its own role, its log group, nodejs22.x on arm64 inside the VPC. */
export class NodeFunction extends Construct {
  readonly function: LambdaFunction;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  readonly asset: TerraformAsset;
  readonly bundleBytes: number;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    const functionName = `${props.prefix}-${props.name}`;
    if (!existsSync(props.entry)) throw new Error(`no handler to bundle for ${props.name}: ${props.entry} does not exist`);
    const bundle = props.bundler(props.entry);
    this.bundleBytes = bundle.bytes;
    this.asset = new TerraformAsset(this, "bundle", { path: bundle.dir, type: AssetType.ARCHIVE });

    this.logGroup = new CloudwatchLogGroup(this, "logs", {
      name: `/aws/lambda/${functionName}`,
      retentionInDays: props.logRetentionDays,
    });
    this.role = new IamRole(this, "role", {
      name: functionName,
      assumeRolePolicy: assumeRolePolicy("lambda.amazonaws.com"),
    });
    const policy = new IamRolePolicy(this, "policy", {
      role: this.role.id,
      name: "least-privilege",
      policy: policyDocument([
        { Sid: "Logs", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${this.logGroup.arn}:*`] },
        { Sid: "VpcNetworkInterfaces", Action: VPC_ACCESS_ACTIONS, Resource: ["*"] },
        ...props.statements,
      ]),
    });
    this.function = new LambdaFunction(this, "function", {
      functionName,
      description: props.description,
      role: this.role.arn,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      filename: this.asset.path,
      sourceCodeHash: this.asset.assetHash,
      memorySize: props.memoryMb,
      timeout: FUNCTION_TIMEOUTS[props.name],
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: {
        variables: {
          NODE_OPTIONS: "--enable-source-maps",
          POWERTOOLS_SERVICE_NAME: "cqrs-outbox",
          ...props.environment,
        },
      },
      vpcConfig: {
        subnetIds: props.subnets.map((subnet) => subnet.id),
        securityGroupIds: [props.securityGroup.id],
      },
      loggingConfig: { logGroup: this.logGroup.name, logFormat: "JSON" },
      // Without its log group and permissions a first invocation (the migration) would fail.
      dependsOn: [this.logGroup, policy],
    });
  }
}

export interface FunctionsProps {
  readonly prefix: string;
  /** Absolute path of handlers/. */
  readonly handlersDir: string;
  readonly bundler: Bundler;
  readonly config: EnvironmentConfig["functions"];
  readonly logRetentionDays: number;
  readonly subnets: ReadonlyArray<Subnet>;
  readonly securityGroup: SecurityGroup;
  readonly database: { readonly host: string; readonly port: number; readonly name: string; readonly masterSecretArn: string };
  readonly cache: { readonly host: string; readonly port: number; readonly authSecretArn: string };
  readonly replicationSecretArn: string;
  readonly credentialsSecretArn: string;
  readonly queues: { readonly projection: SqsQueue; readonly purge: SqsQueue; readonly quarantine: SqsQueue };
}

const readSecret = (sid: string, ...arns: ReadonlyArray<string>): Statement => ({
  Sid: sid,
  Action: ["secretsmanager:GetSecretValue"],
  Resource: arns,
});

const consume = (queue: SqsQueue): Statement => ({
  Sid: "ConsumeQueue",
  Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
  Resource: [queue.arn],
});

/** Every handler as a function, and the SQS event source mappings of the two consumers. */
export class Functions extends Construct {
  readonly byName: Readonly<Record<FunctionName, NodeFunction>>;
  /** The projection queue's mapping, which `reproject` pauses while it rebuilds. */
  readonly projectionConsumer: LambdaEventSourceMapping;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const { database, cache, queues, config } = props;
    const databaseEnv = (poolMax: number) => ({
      DB_HOST: database.host,
      DB_PORT: String(database.port),
      DB_NAME: database.name,
      DB_SECRET_ARN: database.masterSecretArn,
      NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE,
      DB_POOL_MAX: String(poolMax),
    });
    const cacheEnv = { REDIS_HOST: cache.host, REDIS_PORT: String(cache.port), REDIS_AUTH_SECRET_ARN: cache.authSecretArn };
    type Spec = Omit<NodeFunctionProps, "prefix" | "name" | "entry" | "bundler" | "subnets" | "securityGroup" | "logRetentionDays">;
    const build = (name: FunctionName, spec: Spec) =>
      new NodeFunction(this, name, {
        ...spec,
        prefix: props.prefix,
        name,
        entry: path.join(props.handlersDir, `${name}.ts`),
        bundler: props.bundler,
        subnets: props.subnets,
        securityGroup: props.securityGroup,
        logRetentionDays: props.logRetentionDays,
      });
    // reproject refers to the projection's mapping, which refers to its function: it comes last.
    const specs: Record<Exclude<FunctionName, "reproject">, Spec> = {
      "place-order": {
        description: "POST /orders: validates, prices and stores an order with its outbox event",
        memoryMb: 512,
        environment: databaseEnv(config.dbPoolMax),
        statements: [readSecret("ReadDatabaseSecret", database.masterSecretArn)],
        // The database's guard: at most this many containers, each with DB_POOL_MAX connections.
        reservedConcurrency: config.placeOrderReservedConcurrency,
      },
      "get-client": {
        description: "GET /clients/{id_client}: the client's view from Redis",
        memoryMb: 256,
        environment: cacheEnv,
        statements: [readSecret("ReadRedisSecret", cache.authSecretArn)],
      },
      migrate: {
        description: "Deploy-time migrations, seed and the DMS replication user",
        memoryMb: 512,
        environment: { ...databaseEnv(1), REPLICATION_SECRET_ARN: props.replicationSecretArn },
        statements: [readSecret("ReadDatabaseSecrets", database.masterSecretArn, props.replicationSecretArn)],
        reservedConcurrency: 1,
      },
      "enrich-outbox": {
        description: "Pipe enrichment: DMS records to domain events; undecodable ones to quarantine",
        memoryMb: 256,
        environment: { QUARANTINE_QUEUE_URL: queues.quarantine.url },
        statements: [{ Sid: "Quarantine", Action: ["sqs:SendMessage"], Resource: [queues.quarantine.arn] }],
      },
      "project-client-view": {
        description: "Projects order events into the client views in Redis",
        memoryMb: 256,
        environment: cacheEnv,
        statements: [readSecret("ReadRedisSecret", cache.authSecretArn), consume(queues.projection)],
      },
      "purge-outbox": {
        description: "Deletes outbox rows once their events are published",
        memoryMb: 256,
        environment: databaseEnv(config.dbPoolMax),
        statements: [readSecret("ReadDatabaseSecret", database.masterSecretArn), consume(queues.purge)],
      },
      authorizer: {
        description: "API Gateway Lambda authorizer: HTTP Basic against the credentials secret",
        memoryMb: 256,
        environment: { CREDENTIALS_SECRET_ARN: props.credentialsSecretArn },
        statements: [readSecret("ReadCredentials", props.credentialsSecretArn)],
      },
    };
    const built = Object.fromEntries(
      (Object.keys(specs) as Array<keyof typeof specs>).map((name) => [name, build(name, specs[name])]),
    ) as Record<keyof typeof specs, NodeFunction>;

    const consumer = (id: string, queue: SqsQueue, fn: NodeFunction, maximumConcurrency: number) =>
      new LambdaEventSourceMapping(this, id, {
        eventSourceArn: queue.arn,
        functionName: fn.function.arn,
        batchSize: QUEUE_BATCH_SIZE,
        maximumBatchingWindowInSeconds: 1,
        functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency },
      });
    this.projectionConsumer = consumer("projection-consumer", queues.projection, built["project-client-view"], config.projectionMaxConcurrency);
    consumer("purge-consumer", queues.purge, built["purge-outbox"], config.purgeMaxConcurrency);

    const reproject = build("reproject", {
      description: "Rebuilds the Redis read model from PostgreSQL with the projection consumer paused (run by hand)",
      memoryMb: 512,
      environment: { ...databaseEnv(1), ...cacheEnv, PROJECTION_MAPPING_UUID: this.projectionConsumer.uuid },
      statements: [
        readSecret("ReadSecrets", database.masterSecretArn, cache.authSecretArn),
        {
          Sid: "PauseProjectionConsumer",
          Action: ["lambda:UpdateEventSourceMapping", "lambda:GetEventSourceMapping"],
          Resource: [this.projectionConsumer.arn],
        },
      ],
      // Two rebuilds at once: one could set the generation while the other still writes pages it read earlier.
      reservedConcurrency: 1,
    });
    this.byName = { ...built, reproject };
  }
}
