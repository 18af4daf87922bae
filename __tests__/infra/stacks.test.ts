import { ACCOUNT_STACK, stackName, STATE_STACK } from "../../infra/app";
import { ACCOUNT, ENVIRONMENTS, STATE } from "../../infra/config";
import { synthesizeAll } from "./synth";

describe("stacks", () => {
  const stacks = new Map([...synthesizeAll()].map(([id, { json }]) => [id, json]));

  it("has the state bootstrap, the account stack and one stack per environment", () => {
    expect([...stacks.keys()].sort()).toEqual([STATE_STACK, ACCOUNT_STACK, ...Object.keys(ENVIRONMENTS).map((e) => stackName(e as never))].sort());
  });

  it("keeps the account stack's state in S3 under its own key, in the account's region", () => {
    const stack = stacks.get(ACCOUNT_STACK);
    expect(stack?.terraform.backend.s3).toEqual({
      bucket: STATE.bucket,
      key: `${ACCOUNT_STACK}/terraform.tfstate`,
      region: STATE.region,
      encrypt: true,
      use_lockfile: true,
    });
    expect(stack?.provider.aws[0]?.region).toBe(ACCOUNT.region);
    expect(stack?.provider.aws[0]?.default_tags[0]?.tags).toEqual({ project: "cqrs-outbox", stack: ACCOUNT_STACK });
  });

  it("sets API Gateway's account settings in the environments' region (they are per region)", () => {
    const account = stacks.get(ACCOUNT_STACK);
    // One account-wide setting, made by the account stack alone, with the region of its provider.
    expect(Object.keys(account?.resource?.aws_api_gateway_account ?? {})).toHaveLength(1);
    const accountRegions = (account?.provider.aws ?? []).map((provider) => provider.region);
    expect(accountRegions).toHaveLength(1);
    for (const environment of Object.values(ENVIRONMENTS)) {
      const stack = stacks.get(stackName(environment.name));
      expect(stack?.resource?.aws_api_gateway_account).toBeUndefined();
      // Every API of the environment lives in the region whose settings the account stack made.
      expect(Object.keys(stack?.resource?.aws_api_gateway_rest_api ?? {}).length).toBeGreaterThan(0);
      expect((stack?.provider.aws ?? []).map((provider) => provider.region)).toEqual(accountRegions);
    }
  });

  it.each(Object.values(ENVIRONMENTS))("keeps $name state in S3: encrypted, one key per stack, S3-native locking", (environment) => {
    const stack = stacks.get(stackName(environment.name));
    expect(stack?.terraform.backend.s3).toEqual(
      expect.objectContaining({
        key: `${stackName(environment.name)}/terraform.tfstate`,
        encrypt: true,
        use_lockfile: true,
      }),
    );
    expect(stack?.provider.aws[0]?.region).toBe(environment.region);
    expect(stack?.provider.aws[0]?.default_tags[0]?.tags).toEqual(expect.objectContaining({ environment: environment.name }));
  });

  it("bootstraps a versioned, encrypted, private, TLS-only state bucket with local state", () => {
    const state = stacks.get(STATE_STACK);
    expect(state?.terraform.backend.local).toBeDefined();
    const resources = state?.resource ?? {};
    expect(Object.values(resources.aws_s3_bucket_versioning ?? {})[0]).toEqual(
      expect.objectContaining({ versioning_configuration: { status: "Enabled" } }),
    );
    expect(JSON.stringify(resources.aws_s3_bucket_server_side_encryption_configuration)).toContain('"sse_algorithm":"aws:kms"');
    expect(Object.values(resources.aws_s3_bucket_public_access_block ?? {})[0]).toEqual(
      expect.objectContaining({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true }),
    );
    const policy = JSON.parse(String(Object.values(resources.aws_s3_bucket_policy ?? {})[0]?.policy)) as {
      Statement: ReadonlyArray<{ Effect: string; Condition: unknown }>;
    };
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    );
  });
});
