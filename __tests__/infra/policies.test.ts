// Checks over the whole synthesized JSON, so a resource added later is held to them too.
import { ACCOUNT_STACK, STATE_STACK } from "../../infra/app";
import { VPC_ACCESS_ACTIONS } from "../../infra/functions";
import { MANAGED_POLICIES } from "../../infra/iam";
import { resourcesOf, synthesizeAll, type Block, type SynthesizedStack } from "./synth";

const stacks = synthesizeAll();
const all = [...stacks.entries()].map(([id, { json }]) => [id, json] as const);
const environments = all.filter(([id]) => id !== STATE_STACK && id !== ACCOUNT_STACK);

interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Principal?: unknown;
}
const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
const statements = (policy: unknown): PolicyStatement[] => (JSON.parse(String(policy)) as { Statement: PolicyStatement[] }).Statement;

/** Where AWS requires a wildcard, and why. Anything else with `*` fails. */
const WILDCARD_EXCEPTIONS: ReadonlyArray<{ readonly where: string; readonly reason: string; readonly allows: (s: PolicyStatement, type: string) => boolean }> = [
  {
    where: "Lambda VPC attachment",
    reason: "EC2 authorizes network-interface actions before the interface exists; AWS documents them on Resource *",
    allows: (s, type) => type === "aws_iam_role_policy" && list(s.Action).every((a) => (VPC_ACCESS_ACTIONS as readonly string[]).includes(a)) && list(s.Resource).join() === "*",
  },
  {
    where: "KMS key policy",
    reason: "in a key policy Resource * means this key; the root statement is AWS's default delegation to IAM",
    allows: (s, type) => type === "aws_kms_key" && list(s.Resource).join() === "*" && ["DelegateToIam", "CloudWatchAlarmsPublish", "DmsEventsPublish"].includes(String(s.Sid)),
  },
  {
    where: "the Pipe's kinesis:ListStreams",
    reason: "EventBridge Pipes lists it among a Kinesis source's permissions, and IAM has no resource type for it",
    allows: (s, type) => type === "aws_iam_role_policy" && list(s.Action).join() === "kinesis:ListStreams" && list(s.Resource).join() === "*",
  },
  {
    where: "state bucket TLS-only policy",
    reason: "a Deny of every S3 action over plain HTTP: the wildcard restricts, it grants nothing",
    allows: (s, type) => type === "aws_s3_bucket_policy" && s.Effect === "Deny",
  },
];

const POLICY_ATTRIBUTES: Readonly<Record<string, string>> = {
  aws_iam_role_policy: "policy",
  aws_kms_key: "policy",
  aws_sqs_queue_policy: "policy",
  aws_s3_bucket_policy: "policy",
};

const collectStrings = (value: unknown, out: string[] = []): string[] => {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => collectStrings(v, out));
  else if (value !== null && typeof value === "object") Object.values(value).forEach((v) => collectStrings(v, out));
  return out;
};

/** Every `type.name` a Terraform expression inside `${...}` (or a depends_on entry) points at. */
const referencesOf = (stack: SynthesizedStack): string[] => {
  const refs: string[] = [];
  const blocks = [stack.resource, stack.data, stack.output, stack.provider, stack.locals];
  for (const text of collectStrings(blocks)) {
    for (const expression of text.matchAll(/\$\{([^}]*)\}/g)) {
      for (const ref of (expression[1] ?? "").matchAll(/\b((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+|var\.[A-Za-z0-9_-]+|local\.[A-Za-z0-9_-]+)/g)) refs.push(ref[1]!);
    }
  }
  for (const [, group] of Object.entries({ ...stack.resource, ...stack.data })) {
    for (const block of Object.values(group)) for (const dep of (block.depends_on as string[] | undefined) ?? []) refs.push(dep);
  }
  return refs;
};

const defined = (stack: SynthesizedStack, ref: string): boolean => {
  const [first, second, third] = ref.split(".");
  if (first === "data") return stack.data?.[second!]?.[third!] !== undefined;
  if (first === "var") return stack.variable?.[second!] !== undefined;
  if (first === "local") return (stack.locals as Record<string, unknown> | undefined)?.[second!] !== undefined;
  return stack.resource?.[first!]?.[second!] !== undefined;
};

describe.each(all)("%s", (_id, stack) => {
  it("resolves every reference to something defined in the same stack", () => {
    const refs = referencesOf(stack);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((ref) => !defined(stack, ref))).toEqual([]);
  });

  it("grants no IAM wildcard beyond the listed exceptions", () => {
    const offenders: string[] = [];
    for (const [type, attribute] of Object.entries(POLICY_ATTRIBUTES)) {
      for (const [name, block] of resourcesOf(stack, type)) {
        for (const s of statements(block[attribute])) {
          const wild = list(s.Action).some((a) => a.includes("*")) || list(s.Resource).some((r) => r === "*" || r.endsWith(":*:*")) || s.Principal === "*";
          if (wild && !WILDCARD_EXCEPTIONS.some((e) => e.allows(s, type))) offenders.push(`${type}.${name}: ${JSON.stringify(s)}`);
        }
      }
    }
    expect(offenders).toEqual([]);
    const managed = resourcesOf(stack, "aws_iam_role_policy_attachment").map(([, a]) => a.policy_arn);
    for (const arn of managed) expect(Object.values(MANAGED_POLICIES)).toContain(arn);
  });

  it("encrypts every queue, topic, stream, bucket and cluster", () => {
    for (const [, q] of resourcesOf(stack, "aws_sqs_queue")) expect(q.sqs_managed_sse_enabled === true || typeof q.kms_master_key_id === "string").toBe(true);
    for (const [, t] of resourcesOf(stack, "aws_sns_topic")) expect(t.kms_master_key_id).toEqual(expect.stringContaining("aws_kms_key."));
    for (const [, s] of resourcesOf(stack, "aws_kinesis_stream")) expect(s).toEqual(expect.objectContaining({ encryption_type: "KMS", kms_key_id: expect.any(String) }));
    for (const [, c] of resourcesOf(stack, "aws_rds_cluster")) expect(c.storage_encrypted).toBe(true);
    for (const [, r] of resourcesOf(stack, "aws_elasticache_replication_group")) expect(r).toEqual(expect.objectContaining({ at_rest_encryption_enabled: "true", transit_encryption_enabled: true }));
    const encryptedBuckets = resourcesOf(stack, "aws_s3_bucket_server_side_encryption_configuration").map(([, e]) => e.bucket);
    for (const [name] of resourcesOf(stack, "aws_s3_bucket")) expect(encryptedBuckets).toContain(`\${aws_s3_bucket.${name}.id}`);
  });

  it("opens no security group to the internet and makes nothing publicly accessible", () => {
    const rules = [...resourcesOf(stack, "aws_vpc_security_group_ingress_rule"), ...resourcesOf(stack, "aws_vpc_security_group_egress_rule"), ...resourcesOf(stack, "aws_security_group_rule")];
    for (const [, rule] of rules) {
      expect([rule.cidr_ipv4, rule.cidr_ipv6, ...((rule.cidr_blocks as string[] | undefined) ?? [])]).not.toContainEqual(expect.stringMatching(/^(0\.0\.0\.0\/0|::\/0)$/));
    }
    for (const [, group] of resourcesOf(stack, "aws_security_group")) expect(group.ingress ?? []).toEqual([]);
    for (const type of ["aws_rds_cluster_instance", "aws_dms_replication_instance"]) {
      for (const [, block] of resourcesOf(stack, type)) expect(block.publicly_accessible).toBe(false);
    }
    for (const [, subnet] of resourcesOf(stack, "aws_subnet")) expect(subnet.map_public_ip_on_launch).toBe(false);
    for (const [, pab] of resourcesOf(stack, "aws_s3_bucket_public_access_block")) expect(pab.restrict_public_buckets).toBe(true);
    expect(resourcesOf(stack, "aws_internet_gateway")).toEqual([]);
  });

  it("keeps every log group for a limited time, including the functions'", () => {
    const groups = resourcesOf(stack, "aws_cloudwatch_log_group").map(([name, g]) => [name, g] as const);
    for (const [, g] of groups) expect(g.retention_in_days).toBeGreaterThan(0);
    for (const [, fn] of resourcesOf(stack, "aws_lambda_function")) {
      expect((fn.logging_config as Block | undefined)?.log_group).toEqual(expect.stringContaining("aws_cloudwatch_log_group."));
    }
  });

  it("gives every queue a dead-letter queue, except the dead-letter queues themselves", () => {
    const queues = resourcesOf(stack, "aws_sqs_queue");
    const text = JSON.stringify(stack.resource ?? {});
    for (const [name, q] of queues) {
      if (q.redrive_policy !== undefined) continue;
      // A queue without a redrive is a dead end: something must send its failures there.
      expect((q.tags as Record<string, string> | undefined)?.purpose).toBe("dead-letter");
      const isTarget = text.includes(`deadLetterTargetArn\\":\\"\${aws_sqs_queue.${name}.arn}`) || text.includes(`"arn":"\${aws_sqs_queue.${name}.arn}"`);
      const quarantine = String(q.name).endsWith("-quarantine"); // the enrichment function parks undecodable records here
      expect({ name, deadEnd: isTarget || quarantine }).toEqual({ name, deadEnd: true });
    }
  });

  it("puts no secret value in a Lambda environment", () => {
    for (const [name, fn] of resourcesOf(stack, "aws_lambda_function")) {
      const variables = ((fn.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {});
      for (const [key, value] of Object.entries(variables)) {
        expect({ name, key, value }).not.toEqual({ name, key, value: expect.stringMatching(/random_password|secret_string|auth_token|password/i) });
        expect({ name, key }).not.toEqual({ name, key: expect.stringMatching(/PASSWORD|TOKEN$|SECRET$/) });
      }
    }
  });
});

describe("environments", () => {
  it.each(environments)("%s runs every function in the VPC", (_id, stack) => {
    for (const [, fn] of resourcesOf(stack, "aws_lambda_function")) expect((fn.vpc_config as Block).subnet_ids).toBeDefined();
  });
});

describe("the reference check itself", () => {
  it("flags a reference to nothing, and accepts data sources and depends_on entries that exist", () => {
    const stack: SynthesizedStack = {
      terraform: { backend: {} },
      provider: { aws: [] },
      resource: { aws_sqs_queue: { a: { redrive_policy: "${aws_sqs_queue.gone.arn}", depends_on: ["aws_sqs_queue.b"] }, b: {} } },
      data: { aws_caller_identity: { me: {} } },
      output: { x: { value: "${data.aws_caller_identity.me.account_id}" } },
    };
    expect(referencesOf(stack).filter((ref) => !defined(stack, ref))).toEqual(["aws_sqs_queue.gone"]);
  });
});
