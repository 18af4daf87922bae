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
  };
  readonly cache: {
    readonly nodeType: string;
    /** Replicas besides the primary; automatic failover needs at least one. */
    readonly replicas: number;
  };
  readonly dms: {
    readonly instanceClass: string;
    /** `dms-vpc-role` is account-wide: create it only where the account has none. */
    readonly createVpcRole: boolean;
  };
  readonly stream: { readonly mode: "ON_DEMAND" } | { readonly mode: "PROVISIONED"; readonly shards: number };
  readonly logRetentionDays: number;
  readonly api: { readonly throttleRateLimit: number; readonly throttleBurstLimit: number };
}

export interface StateConfig {
  readonly region: string;
  /** Name of the S3 bucket holding Terraform state for every stack and environment. */
  readonly bucket: string;
}

export const STATE: StateConfig = {
  region: "us-east-1",
  bucket: "cqrs-outbox-terraform-state",
};

export const ENVIRONMENTS: Readonly<Record<EnvironmentName, EnvironmentConfig>> = {
  dev: {
    name: "dev",
    region: "us-east-1",
    azCount: 2,
    database: { instanceClass: "db.t4g.medium", withReader: false, deletionProtection: false, backupRetentionDays: 1 },
    cache: { nodeType: "cache.t4g.micro", replicas: 0 },
    dms: { instanceClass: "dms.t3.small", createVpcRole: true },
    stream: { mode: "ON_DEMAND" },
    logRetentionDays: 14,
    api: { throttleRateLimit: 50, throttleBurstLimit: 100 },
  },
  prod: {
    name: "prod",
    region: "us-east-1",
    azCount: 3,
    database: { instanceClass: "db.r6g.large", withReader: true, deletionProtection: true, backupRetentionDays: 14 },
    cache: { nodeType: "cache.r7g.large", replicas: 1 },
    dms: { instanceClass: "dms.r5.large", createVpcRole: false },
    stream: { mode: "PROVISIONED", shards: 2 },
    logRetentionDays: 90,
    api: { throttleRateLimit: 500, throttleBurstLimit: 1000 },
  },
};
