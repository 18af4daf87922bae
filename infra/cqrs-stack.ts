import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { ADMIN_USER, Api } from "./api";
import { useRemoteState } from "./backend";
import type { Bundler } from "./bundling";
import { Cache } from "./cache";
import { Cdc, REPLICATION_USER } from "./cdc";
import type { EnvironmentConfig, StateConfig } from "./config";
import { Database } from "./database";
import { Encryption } from "./encryption";
import { Fanout } from "./fanout";
import { FUNCTION_TIMEOUTS, Functions } from "./functions";
import { Migration } from "./migration";
import { Network } from "./network";
import { Observability } from "./observability";
import { EventPipe } from "./pipe";
import { ReadModelAlarms } from "./read-model-alarms";
import { GeneratedSecret } from "./secrets";
import { Stream } from "./stream";

export interface SourcePaths {
  /** Absolute path of handlers/ (one bundle per `<name>.ts`). */
  readonly handlersDir: string;
}

export interface CqrsStackProps {
  readonly environment: EnvironmentConfig;
  readonly state: StateConfig;
  readonly bundler: Bundler;
  readonly paths: SourcePaths;
}

/** The whole system for one environment. */
export class CqrsStack extends TerraformStack {
  readonly network: Network;
  readonly database: Database;
  readonly cache: Cache;
  readonly stream: Stream;
  readonly fanout: Fanout;
  readonly functions: Functions;
  readonly pipe: EventPipe;
  readonly api: Api;
  readonly migration: Migration;
  readonly cdc: Cdc;
  readonly observability: Observability;
  readonly readModelAlarms: ReadModelAlarms;

  constructor(scope: Construct, id: string, props: CqrsStackProps) {
    super(scope, id);
    const { environment: env } = props;
    const prefix = id;
    useRemoteState(this, id, props.state);
    new AwsProvider(this, "aws", {
      region: env.region,
      defaultTags: [{ tags: { project: "cqrs-outbox", environment: env.name, stack: id } }],
    });
    const account = new DataAwsCallerIdentity(this, "account");
    const retention = env.logRetentionDays;

    this.network = new Network(this, "network", { prefix, cidr: env.network.cidr, azCount: env.azCount, region: env.region, logRetentionDays: retention });
    const subnets = this.network.privateSubnets;
    const sg = this.network.securityGroups;
    const { key } = new Encryption(this, "encryption", { prefix, account });

    this.database = new Database(this, "database", { prefix, config: env.database, subnets, securityGroup: sg.database, logRetentionDays: retention });
    const replicationSecret = new GeneratedSecret(this, "replication-user", {
      name: `${prefix}/dms-replication-user`,
      description: "DMS source login; the migrate function creates this user",
      recoveryDays: env.secretRecoveryDays,
      value: (password) => ({
        username: REPLICATION_USER,
        password,
        host: this.database.cluster.endpoint,
        port: this.database.port,
        dbname: this.database.databaseName,
        engine: "aurora-postgresql",
      }),
    });
    this.cache = new Cache(this, "cache", {
      prefix,
      config: env.cache,
      subnets,
      securityGroup: sg.cache,
      logRetentionDays: retention,
      secretRecoveryDays: env.secretRecoveryDays,
    });
    this.stream = new Stream(this, "stream", { prefix, key, config: env.stream });
    this.fanout = new Fanout(this, "fanout", {
      prefix,
      key,
      consumerTimeoutSeconds: { projection: FUNCTION_TIMEOUTS["project-client-view"], purge: FUNCTION_TIMEOUTS["purge-outbox"] },
    });
    // The API owns the credentials, but the authorizer function needs their ARN first.
    const credentials = new GeneratedSecret(this, "api-credentials", {
      name: `${prefix}/api-credentials`,
      description: "HTTP Basic credentials of OrdersAPI",
      recoveryDays: env.secretRecoveryDays,
      value: (password) => ({ username: ADMIN_USER, password }),
    });
    this.functions = new Functions(this, "functions", {
      prefix,
      handlersDir: props.paths.handlersDir,
      bundler: props.bundler,
      config: env.functions,
      logRetentionDays: retention,
      subnets,
      securityGroup: sg.functions,
      database: {
        host: this.database.cluster.endpoint,
        port: this.database.port,
        name: this.database.databaseName,
        masterSecretArn: this.database.masterSecretArn,
      },
      cache: {
        host: this.cache.replicationGroup.primaryEndpointAddress,
        port: this.cache.port,
        authSecretArn: this.cache.authSecret.secret.arn,
      },
      replicationSecretArn: replicationSecret.secret.arn,
      credentialsSecretArn: credentials.secret.arn,
      queues: { projection: this.fanout.projection.queue, purge: this.fanout.purge.queue, quarantine: this.fanout.quarantine },
    });
    const fn = this.functions.byName;
    this.pipe = new EventPipe(this, "pipe", {
      prefix,
      account,
      stream: this.stream.stream,
      key,
      enrichment: fn["enrich-outbox"].function,
      topic: this.fanout.topic,
      logRetentionDays: retention,
    });
    this.api = new Api(this, "api", {
      prefix,
      config: env.api,
      logRetentionDays: retention,
      credentials,
      placeOrder: fn["place-order"].function,
      getClient: fn["get-client"].function,
      authorizer: fn.authorizer.function,
    });
    this.migration = new Migration(this, "migration", {
      migrate: fn.migrate,
      // The security group rules too: the invocation otherwise races them and times out.
      after: [this.database.writer, this.network.endpoints.secretsmanager, replicationSecret.version, ...this.network.rules],
    });
    this.cdc = new Cdc(this, "cdc", {
      prefix,
      region: env.region,
      config: env.dms,
      subnets,
      securityGroup: sg.dms,
      stream: this.stream.stream,
      key,
      replicationSecret,
      migration: this.migration.invocation,
      logRetentionDays: retention,
    });
    this.observability = new Observability(this, "observability", {
      prefix,
      key,
      deadEnds: {
        "projection-dlq": this.fanout.projection.deadLetter,
        "outbox-purge-dlq": this.fanout.purge.deadLetter,
        quarantine: this.fanout.quarantine,
      },
      functions: Object.fromEntries(Object.entries(fn).map(([name, f]) => [name, f.function])),
      stream: this.stream.stream,
      dms: { instance: this.cdc.instance, task: this.cdc.task },
      cacheNodeIds: this.cache.nodeIds,
    });
    this.readModelAlarms = new ReadModelAlarms(this, "read-model-alarms", {
      prefix,
      logGroups: { "project-client-view": fn["project-client-view"].logGroup, "get-client": fn["get-client"].logGroup },
      alarmTopic: this.observability.alarmTopic,
    });

    new TerraformOutput(this, "invoke_url", { value: this.api.stage.invokeUrl, description: "Base URL of OrdersAPI" });
    new TerraformOutput(this, "credentials_secret_arn", { value: credentials.secret.arn, description: "HTTP Basic credentials of the API" });
    new TerraformOutput(this, "credentials_command", {
      value: `aws secretsmanager get-secret-value --region ${env.region} --secret-id ${credentials.secret.arn} --query SecretString --output text`,
      description: "Prints the API credentials as JSON ({username, password})",
    });
    new TerraformOutput(this, "reproject_command", {
      // The CLI's default 60 s read timeout would retry a long rebuild into the concurrency limit.
      value: `aws lambda invoke --region ${env.region} --function-name ${fn.reproject.function.functionName} --cli-read-timeout 0 reproject.json && cat reproject.json`,
      description: "Rebuilds the read model from PostgreSQL, pausing the projection meanwhile; prints the summary",
    });
    new TerraformOutput(this, "stream_name", { value: this.stream.stream.name });
    new TerraformOutput(this, "topic_name", { value: this.fanout.topic.name });
    new TerraformOutput(this, "alarm_topic_arn", { value: this.observability.alarmTopic.arn, description: "Subscribe to be told of stuck events" });
  }
}
