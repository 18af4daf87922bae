// The deploy, run for real: synth, then Terraform 1.x with the real hashicorp/aws provider
// (from a local mirror: TF_PLUGIN_DIR) against moto_server. It applies cqrs-state,
// cqrs-account and cqrs-dev, reads their outputs, plans again (no change but the listed
// emulator gaps), destroys all three and checks through moto's API that nothing is left.
// Steps run in order; each prints its time, and the summary table comes at the end.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { App } from "cdktf";
import { ACCOUNT_STACK, buildApp, STATE_STACK, stackName } from "../../infra/app";
import { esbuildBundler } from "../../infra/bundling";
import { ENVIRONMENTS } from "../../infra/config";
import { PLAN_GAPS, type PlanGap } from "./emulator-gaps";
import { leftovers, startMoto, type Inventory, type Moto } from "./support/moto";
import {
  outputsOf,
  requireTools,
  summarizePlan,
  targetArgs,
  terraform,
  terraformOk,
  workingCopy,
  type PlanSummary,
  type Tools,
  type WorkingCopy,
} from "./support/terraform";

const DEV = stackName(ENVIRONMENTS.dev.name);
const PROD = stackName(ENVIRONMENTS.prod.name);
/** Deploy order; destroy goes the other way. */
const APPLIED = [STATE_STACK, ACCOUNT_STACK, DEV] as const;
const ALL = [...APPLIED, PROD] as const;
const MINUTE = 60_000;

const timings: Array<{ step: string; stack: string; ms: number }> = [];
const timed = async <T>(step: string, stack: string, work: () => Promise<T>): Promise<T> => {
  const started = Date.now();
  try {
    return await work();
  } finally {
    const ms = Date.now() - started;
    timings.push({ step, stack, ms });
    process.stderr.write(`deploy: ${step.padEnd(10)} ${stack.padEnd(13)} ${(ms / 1000).toFixed(1).padStart(6)} s\n`);
  }
};

let tools: Tools;
let moto: Moto;
let root: string;
let synthDir: string;
let initial: Inventory;
const copies = new Map<string, WorkingCopy>();
const plans = new Map<string, PlanSummary>();
const copy = (stack: string): WorkingCopy => {
  const found = copies.get(stack);
  if (found === undefined) throw new Error(`no working copy of ${stack}: an earlier step failed`);
  return found;
};
let applied = false;

beforeAll(async () => {
  // Missing tools fail the suite here, with how to install them; nothing is skipped.
  tools = requireTools();
  root = mkdtempSync(path.join(tmpdir(), "cqrs-outbox-deploy-"));
  moto = await startMoto(path.join(root, "moto.log"));
  initial = await moto.inventory();
}, 2 * MINUTE);

afterAll(async () => {
  await moto?.stop();
  const total = timings.reduce((sum, { ms }) => sum + ms, 0);
  const rows = timings.map(({ step, stack, ms }) => `  ${step.padEnd(10)} ${stack.padEnd(13)} ${(ms / 1000).toFixed(1).padStart(6)} s`);
  console.log(`deploy suite timings (moto at ${moto?.url}, provider hashicorp/aws ${tools?.providerVersion}):\n${rows.join("\n")}\n  total${(total / 1000).toFixed(1).padStart(27)} s`);
  // Work files stay behind only when something failed, for a look at the logs.
  if (applied && plans.size === APPLIED.length && root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe("the deploy, through real Terraform against moto_server", () => {
  it("synthesizes every stack with the real bundles", async () => {
    synthDir = path.join(root, "synth");
    await timed("synth", "all", async () => {
      const app = buildApp(new App({ outdir: synthDir }), { bundler: esbuildBundler() });
      app.synth();
    });
    for (const stack of ALL) copies.set(stack, workingCopy(synthDir, stack, path.join(root, stack), moto.url, tools));
    for (const stack of ALL) {
      // The test's working copy changes nothing of the synthesized config itself.
      const synthesized = readFileSync(path.join(synthDir, "stacks", stack, "cdk.tf.json"), "utf8");
      expect(readFileSync(path.join(copy(stack).dir, "cdk.tf.json"), "utf8")).toBe(synthesized);
      const pinned = (JSON.parse(synthesized) as { terraform: { required_providers: { aws: { version: string } } } }).terraform.required_providers.aws.version;
      expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    }
  }, 5 * MINUTE);

  it.each(ALL)("initializes %s from the local provider directory and validates it", async (stack) => {
    const working = copy(stack);
    await timed("init", stack, () => terraformOk(working, ["init", "-input=false", "-no-color", `-plugin-dir=${tools.pluginDir}`], "init"));
    const validate = await timed("validate", stack, () => terraformOk(working, ["validate", "-no-color"], "validate"));
    expect(validate.output).toContain("Success! The configuration is valid.");
  }, 5 * MINUTE);

  it("applies cqrs-state, cqrs-account, then cqrs-dev; everything but what moto cannot create", async () => {
    for (const stack of APPLIED) {
      const working = copy(stack);
      await timed("apply", stack, () =>
        terraformOk(working, ["apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=20", ...targetArgs(working)], "apply"),
      );
      const state = await terraformOk(working, ["state", "list"], "state-list");
      const inState = new Set(state.stdout.split("\n").filter((line) => line !== "" && !line.startsWith("data.")));
      expect(working.targets.filter((address) => !inState.has(address))).toEqual([]);
      const left = working.unappliable.map(({ address }) => address);
      process.stderr.write(
        `deploy: ${stack}: ${inState.size} resources applied` +
          (left.length > 0 ? `; left out (moto cannot create them): ${left.join(", ")}; stand-ins for ${working.standIns.map((s) => `${s.address} (${s.arguments.join(", ")})`).join(", ")}` : "") +
          "\n",
      );
    }
    // The environment applies with only its emulator gaps left out: no more than these.
    expect(copy(DEV).unappliable.map(({ address }) => address.split(".")[0]).sort()).toEqual([
      "aws_dms_event_subscription",
      "aws_dms_replication_instance",
      "aws_dms_replication_task",
      "aws_elasticache_parameter_group",
      "aws_elasticache_replication_group",
      "aws_elasticache_subnet_group",
    ]);
    applied = true;
  }, 20 * MINUTE);

  it("outputs the invoke URL, the credentials secret, the stream, the topics and the state bucket", async () => {
    expect(applied).toBe(true);
    const dev = await outputsOf(copy(DEV));
    expect(dev).toEqual(
      expect.objectContaining({
        invoke_url: expect.stringMatching(/^https:\/\/[a-z0-9]+\.execute-api\.us-east-1\.amazonaws\.com\/[a-z]+$/),
        credentials_secret_arn: expect.stringMatching(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:cqrs-dev\/api-credentials-/),
        credentials_command: expect.stringMatching(/^aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:/),
        stream_name: "cqrs-dev-outbox",
        topic_name: "cqrs-dev-events",
        alarm_topic_arn: expect.stringMatching(/^arn:aws:sns:us-east-1:\d{12}:cqrs-dev-alarms$/),
      }),
    );
    expect(await outputsOf(copy(STATE_STACK))).toEqual({ state_bucket: "cqrs-outbox-terraform-state" });
    expect(await outputsOf(copy(ACCOUNT_STACK))).toEqual({ api_gateway_cloudwatch_role_arn: expect.stringMatching(/^arn:aws:iam::\d{12}:role\//) });
    // What the outputs name exists in moto.
    const now = await moto.inventory();
    expect(now.kinesis?.streams).toContain("cqrs-dev-outbox");
    expect(now.sns?.topics).toContainEqual(expect.stringMatching(/:cqrs-dev-events$/));
    expect(now.s3?.buckets).toContain("cqrs-outbox-terraform-state");
    expect(now.apigateway?.rest_apis).toContain((dev.invoke_url as string).slice("https://".length).split(".")[0]);
  }, 5 * MINUTE);

  it.each(APPLIED)("plans no change to %s right after the apply, but the listed emulator gaps", async (stack) => {
    expect(applied).toBe(true);
    const working = copy(stack);
    const plan = await timed("plan", stack, () =>
      terraformOk(working, ["plan", "-detailed-exitcode", "-input=false", "-no-color", "-out=replan.tfplan", ...targetArgs(working)], "plan", [0, 2]),
    );
    const shown = await terraformOk(working, ["show", "-json", "replan.tfplan"], "show");
    const summary = summarizePlan(shown.stdout);
    plans.set(stack, summary);
    expect(summary.structural).toEqual([]);
    const unexplained = summary.updates.filter((change) => !PLAN_GAPS.some((gap) => gap.types.includes(change.type) && gap.attribute === change.attribute && gap.explains(change)));
    expect(unexplained).toEqual([]);
    // -detailed-exitcode: 0 is "no changes", 2 is "changes present".
    expect(plan.code).toBe(summary.updates.length === 0 ? 0 : 2);
    const byGap = new Map<string, number>();
    for (const change of summary.updates) byGap.set(`${change.type}.${change.attribute}`, (byGap.get(`${change.type}.${change.attribute}`) ?? 0) + 1);
    const listed = [...byGap].map(([gap, count]) => `${gap} x${count}`).join(", ");
    process.stderr.write(`deploy: ${stack}: plan after apply: ${summary.updates.length} attribute changes, all listed emulator gaps${listed ? `: ${listed}` : ""}\n`);
  }, 5 * MINUTE);

  it("uses every listed plan gap: an entry moto no longer needs is removed", () => {
    expect(plans.size).toBe(APPLIED.length);
    const all = [...plans.values()].flatMap((summary) => summary.updates);
    const used = (gap: PlanGap) => all.some((change) => gap.types.includes(change.type) && gap.attribute === change.attribute && gap.explains(change));
    expect(PLAN_GAPS.filter((gap) => !used(gap)).map((gap) => `${gap.types.join("|")}.${gap.attribute}`)).toEqual([]);
  });

  it("destroys cqrs-dev, cqrs-account, then cqrs-state, and moto holds nothing of them afterwards", async () => {
    expect(applied).toBe(true);
    for (const stack of [...APPLIED].reverse()) {
      await timed("destroy", stack, () => terraformOk(copy(stack), ["destroy", "-auto-approve", "-input=false", "-no-color", "-parallelism=20"], "destroy"));
      const state = await terraform(copy(stack), ["state", "list"], "state-list");
      expect(state.stdout.split("\n").filter((line) => line !== "" && !line.startsWith("data."))).toEqual([]);
    }
    expect(leftovers(initial, await moto.inventory())).toEqual({});
  }, 20 * MINUTE);
});
