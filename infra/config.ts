/**
 * Everything that differs between environments, in one typed object per environment.
 * Stacks read this, never `process.env`.
 */
export type EnvironmentName = "dev" | "prod";

export interface EnvironmentConfig {
  readonly name: EnvironmentName;
  readonly region: string;
  /** Availability zones the VPC spans (2 or more). */
  readonly azCount: number;
  readonly database: {
    readonly instanceClass: string;
    /** A reader besides the writer. */
    readonly withReader: boolean;
    readonly deletionProtection: boolean;
    readonly backupRetentionDays: number;
    readonly engineVersion: string;
  };
  readonly cache: {
    readonly nodeType: string;
    /** Replicas besides the primary; automatic failover needs at least one. */
    readonly replicas: number;
  };
  readonly dms: {
    readonly instanceClass: string;
    readonly allocatedStorageGb: number;
    readonly multiAz: boolean;
  };
  readonly stream: { readonly mode: "ON_DEMAND" } | { readonly mode: "PROVISIONED"; readonly shards: number };
  readonly logRetentionDays: number;
  readonly api: { readonly throttleRateLimit: number; readonly throttleBurstLimit: number };
  readonly network: {
    /** The VPC's CIDR; subnets are /20s carved from it. */
    readonly cidr: string;
  };
  readonly functions: {
    /** Reserved concurrency of place-order: the ceiling on connections it can open to Aurora. */
    readonly placeOrderReservedConcurrency: number;
    /** Pool size per place-order container (DB_POOL_MAX). */
    readonly dbPoolMax: number;
    /** Maximum concurrency of the SQS consumers (2 is SQS's minimum). */
    readonly projectionMaxConcurrency: number;
    readonly purgeMaxConcurrency: number;
  };
  /** Days a deleted secret is kept; 0 deletes at once, so `cdktf destroy` leaves nothing. */
  readonly secretRecoveryDays: number;
}

export interface StateConfig {
  readonly region: string;
  /** Name of the S3 bucket holding Terraform state for every stack and environment. */
  readonly bucket: string;
}

/**
 * The account-wide singletons every environment in the account shares: `dms-vpc-role`,
 * `dms-cloudwatch-logs-role` (DMS finds them by these exact names) and API Gateway's account
 * settings with their CloudWatch role. The `cqrs-account` stack owns them, one per account,
 * so destroying an environment never touches them.
 */
export interface AccountConfig {
  /** Region of API Gateway's account settings (they are per region): the environments' region. */
  readonly region: string;
  /**
   * Whether `cqrs-account` creates `dms-vpc-role`. Set to `false` in an account that already
   * has it (the DMS console creates it the first time it is used); the environments then use
   * the existing role. Same for `dms-cloudwatch-logs-role` with `createDmsCloudWatchLogsRole`.
   */
  readonly createDmsVpcRole: boolean;
  readonly createDmsCloudWatchLogsRole: boolean;
}

export const ACCOUNT: AccountConfig = {
  region: "us-east-1",
  createDmsVpcRole: true,
  createDmsCloudWatchLogsRole: true,
};

export const STATE: StateConfig = {
  region: "us-east-1",
  bucket: "cqrs-outbox-terraform-state",
};

export const ENVIRONMENTS: Readonly<Record<EnvironmentName, EnvironmentConfig>> = {
  dev: {
    name: "dev",
    region: "us-east-1",
    azCount: 2,
    database: { instanceClass: "db.t4g.medium", withReader: false, deletionProtection: false, backupRetentionDays: 1, engineVersion: "16.6" },
    cache: { nodeType: "cache.t4g.micro", replicas: 0 },
    dms: { instanceClass: "dms.t3.small", allocatedStorageGb: 20, multiAz: false },
    stream: { mode: "ON_DEMAND" },
    logRetentionDays: 14,
    api: { throttleRateLimit: 50, throttleBurstLimit: 100 },
    network: { cidr: "10.10.0.0/16" },
    functions: { placeOrderReservedConcurrency: 10, dbPoolMax: 2, projectionMaxConcurrency: 2, purgeMaxConcurrency: 2 },
    secretRecoveryDays: 0,
  },
  prod: {
    name: "prod",
    region: "us-east-1",
    azCount: 3,
    database: { instanceClass: "db.r6g.large", withReader: true, deletionProtection: true, backupRetentionDays: 14, engineVersion: "16.6" },
    cache: { nodeType: "cache.r7g.large", replicas: 1 },
    dms: { instanceClass: "dms.r5.large", allocatedStorageGb: 50, multiAz: true },
    stream: { mode: "PROVISIONED", shards: 2 },
    logRetentionDays: 90,
    api: { throttleRateLimit: 500, throttleBurstLimit: 1000 },
    network: { cidr: "10.20.0.0/16" },
    functions: { placeOrderReservedConcurrency: 50, dbPoolMax: 2, projectionMaxConcurrency: 10, purgeMaxConcurrency: 2 },
    secretRecoveryDays: 7,
  },
};
