// Real Terraform against a working copy of a synthesized stack. The synthesized
// `cdk.tf.json` is copied unchanged; everything the test changes (the mirrored provider
// version, the local backend, moto's endpoints, stand-ins for what moto cannot create) is in
// one override file beside it, so the deployed config keeps its own pinned provider.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { UNAPPLIABLE, type AttributeChange, type Unappliable } from "../emulator-gaps";

export const OVERRIDE_FILE = "deploy_override.tf.json";

/** Services the stacks call, each pointed at moto. */
const SERVICES = [
  "apigateway",
  "cloudwatch",
  "dms",
  "ec2",
  "elasticache",
  "iam",
  "kinesis",
  "kms",
  "lambda",
  "logs",
  "pipes",
  "rds",
  "s3",
  "secretsmanager",
  "sns",
  "sqs",
  "sts",
] as const;

const onPath = (command: string): boolean => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;

/** Terraform's own implicit local mirror directories (Linux), tried when TF_PLUGIN_DIR is unset. */
const implicitPluginDirs = (): string[] => [
  path.join(homedir(), ".terraform.d", "plugins"),
  path.join(process.env.XDG_DATA_HOME ?? path.join(homedir(), ".local", "share"), "terraform", "plugins"),
  "/usr/local/share/terraform/plugins",
  "/usr/share/terraform/plugins",
];

const AWS_PROVIDER = path.join("registry.terraform.io", "hashicorp", "aws");
const PLATFORM = `${process.platform}_${process.arch === "x64" ? "amd64" : process.arch}`;

const mirroredVersions = (dir: string): string[] => {
  const root = path.join(dir, AWS_PROVIDER);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((version) => existsSync(path.join(root, version, PLATFORM)))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
};

export interface Tools {
  /** Directory holding `registry.terraform.io/hashicorp/aws/<version>/<platform>/`. */
  readonly pluginDir: string;
  /** The newest mirrored version of hashicorp/aws. */
  readonly providerVersion: string;
}

/** The deploy suite's tools, or an error whose message says in one line how to get them. */
export const requireTools = (): Tools => {
  if (!onPath("terraform")) throw new Error("terraform is not on PATH: install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install)");
  if (!onPath("moto_server")) throw new Error("moto_server is not on PATH: pip install 'moto[server]>=5.2'");
  const given = process.env.TF_PLUGIN_DIR;
  const hint = `set TF_PLUGIN_DIR to a directory made by \`terraform providers mirror\` (it holds ${AWS_PROVIDER}/<version>/${PLATFORM}/)`;
  if (given) return firstMirror([given]) ?? fail(`no hashicorp/aws provider for ${PLATFORM} under TF_PLUGIN_DIR=${given}: ${hint}`);
  // Nearest first: the whole disk is searched only when nothing nearer holds a mirror.
  const implicit = firstMirror(implicitPluginDirs());
  if (implicit) return implicit;
  for (const parent of likelyMirrorParents()) {
    const nearby = firstMirror(mirrorsUnder([parent], 20_000).dirs);
    if (nearby) return nearby;
  }
  const everywhere = mirrorsUnder(["/"], 90_000);
  return (
    firstMirror(everywhere.dirs) ??
    fail(
      `no hashicorp/aws provider for ${PLATFORM} in Terraform's mirror directories or anywhere on this machine${everywhere.timedOut ? " (the search of / ran out of time)" : ""}: ${hint}`,
    )
  );
};

const fail = (message: string): never => {
  throw new Error(message);
};

/** The first directory holding a mirror of hashicorp/aws, with its newest version. */
const firstMirror = (dirs: ReadonlyArray<string>): Tools | undefined => {
  for (const dir of dirs) {
    const versions = mirroredVersions(dir);
    if (versions.length > 0) return { pluginDir: dir, providerVersion: versions[versions.length - 1]! };
  }
  return undefined;
};

/** Where a provider mirror is usually put: searched first, one by one, the home directory (the largest) last. */
const likelyMirrorParents = (): string[] => ["/opt", "/usr/local", "/usr/share", "/srv", "/var/lib", homedir()].filter((dir) => existsSync(dir));

/**
 * Provider mirrors under `roots`: the directory above each
 * `registry.terraform.io/hashicorp/aws/<version>/<platform>/terraform-provider-aws_*` found,
 * leaving out working directories' own `.terraform/` copies and dependency trees. The whole
 * disk takes seconds on an idle machine, much longer while a test run keeps it busy.
 */
const mirrorsUnder = (roots: ReadonlyArray<string>, timeoutMs: number): { dirs: string[]; timedOut: boolean } => {
  const found = spawnSync(
    "find",
    [...roots, "(", "-path", "/proc", "-o", "-path", "/sys", "-o", "-path", "/dev", "-o", "-name", ".terraform", "-o", "-name", "node_modules", "-o", "-name", ".git", ")", "-prune", "-o",
      "-path", `*/${AWS_PROVIDER}/*`, "-name", "terraform-provider-aws_*", "-type", "f", "-print"],
    { encoding: "utf8", timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 },
  );
  const dirs = (found.stdout ?? "")
    .split("\n")
    .filter((file) => file !== "")
    .map((file) => path.resolve(file, "..", "..", "..", "..", "..", ".."));
  return { dirs: [...new Set(dirs)], timedOut: (found.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT" };
};

type Json = Record<string, unknown>;
type Resources = Record<string, Record<string, Json>>;

interface StackConfig {
  readonly resource?: Resources;
  readonly output?: Record<string, { value: unknown }>;
}

export interface WorkingCopy {
  readonly stack: string;
  readonly dir: string;
  /** Every resource address the stack declares. */
  readonly addresses: ReadonlyArray<string>;
  /** The resources moto cannot create, left out of the apply, by address. */
  readonly unappliable: ReadonlyArray<{ readonly address: string; readonly gap: Unappliable }>;
  /** What is applied: every address but the unappliable ones. */
  readonly targets: ReadonlyArray<string>;
  /** Resources whose arguments read an unappliable resource, and the arguments given stand-ins. */
  readonly standIns: ReadonlyArray<{ readonly address: string; readonly arguments: ReadonlyArray<string> }>;
}

const INTERPOLATION = /\$\{([^{}]*)\}/g;
const REFERENCE = /\b(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\b/g;

/**
 * `value` with every reference to a blocked resource, inside any `${...}` expression, replaced
 * by its stand-in as a string literal; `replaced` collects what was replaced.
 */
const substitute = (value: unknown, standIn: (type: string, name: string, attribute: string) => string | undefined, replaced: Set<string>): unknown => {
  if (typeof value === "string") {
    return value.replace(INTERPOLATION, (_, expression: string) => {
      const rewritten = expression.replace(REFERENCE, (reference, type: string, name: string, attribute: string) => {
        const replacement = standIn(type, name, attribute);
        if (replacement === undefined) return reference;
        replaced.add(`${type}.${name}.${attribute}`);
        return JSON.stringify(replacement);
      });
      return `\${${rewritten}}`;
    });
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, standIn, replaced));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, standIn, replaced)]));
  }
  return value;
};

/**
 * Copies the synthesized stack into `dir` and writes the override file: the mirrored
 * provider version, a local backend, moto's endpoints and test credentials, and stand-ins
 * for the attributes of what moto cannot create.
 */
export const workingCopy = (synthDir: string, stack: string, dir: string, motoUrl: string, tools: Tools): WorkingCopy => {
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(synthDir, "stacks", stack), dir, { recursive: true });
  const config = JSON.parse(readFileSync(path.join(dir, "cdk.tf.json"), "utf8")) as StackConfig;
  const resources = config.resource ?? {};
  const addresses = Object.entries(resources).flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`));

  const gapOf = new Map(UNAPPLIABLE.map((gap) => [gap.type, gap]));
  const unappliable = addresses.flatMap((address) => {
    const gap = gapOf.get(address.split(".")[0]!);
    return gap === undefined ? [] : [{ address, gap }];
  });
  const blocked = new Set(unappliable.map(({ address }) => address));
  const standIn = (type: string, name: string, attribute: string): string | undefined => {
    if (!blocked.has(`${type}.${name}`)) return undefined;
    const make = gapOf.get(type)!.standIns[attribute];
    if (make === undefined) throw new Error(`${stack}: ${type}.${name}.${attribute} is read by another resource, but ${type} has no stand-in for ${attribute} (see emulator-gaps.ts)`);
    return make(resources[type]![name]!);
  };

  const overrides: Resources = {};
  const standIns: Array<{ address: string; arguments: string[] }> = [];
  for (const [type, byName] of Object.entries(resources)) {
    for (const [name, body] of Object.entries(byName)) {
      if (blocked.has(`${type}.${name}`)) continue;
      const dependsOnBlocked = ((body.depends_on as string[] | undefined) ?? []).filter((dependency) => blocked.has(dependency));
      if (dependsOnBlocked.length > 0) throw new Error(`${stack}: ${type}.${name} depends_on ${dependsOnBlocked.join(", ")}, which moto cannot create`);
      const changed: Json = {};
      for (const [argument, value] of Object.entries(body)) {
        const replaced = new Set<string>();
        const substituted = substitute(value, standIn, replaced);
        if (replaced.size > 0) changed[argument] = substituted;
      }
      if (Object.keys(changed).length > 0) {
        (overrides[type] ??= {})[name] = changed;
        standIns.push({ address: `${type}.${name}`, arguments: Object.keys(changed) });
      }
    }
  }

  const override = {
    terraform: {
      required_providers: { aws: { source: "hashicorp/aws", version: tools.providerVersion } },
      backend: { local: { path: "terraform.tfstate" } },
    },
    provider: {
      aws: {
        access_key: "test",
        secret_key: "test",
        skip_credentials_validation: true,
        skip_metadata_api_check: true,
        skip_requesting_account_id: true,
        s3_use_path_style: true,
        endpoints: [Object.fromEntries(SERVICES.map((service) => [service, motoUrl]))],
      },
    },
    ...(Object.keys(overrides).length > 0 ? { resource: overrides } : {}),
  };
  writeFileSync(path.join(dir, OVERRIDE_FILE), `${JSON.stringify(override, null, 2)}\n`);
  // An empty CLI config: nothing from the machine's ~/.terraformrc leaks in.
  writeFileSync(path.join(dir, "terraformrc"), "");
  return { stack, dir, addresses, unappliable, targets: addresses.filter((address) => !blocked.has(address)), standIns };
};

export interface Run {
  readonly code: number;
  /** stdout and stderr as they came. */
  readonly output: string;
  readonly stdout: string;
  readonly ms: number;
}

/** Runs terraform in the working copy; output goes to `<dir>/<log>.log`. Rejects on a timeout. */
export const terraform = (copy: WorkingCopy, args: ReadonlyArray<string>, log: string, timeoutMs = 10 * 60_000): Promise<Run> =>
  new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn("terraform", [...args], {
      cwd: copy.dir,
      env: {
        ...process.env,
        TF_IN_AUTOMATION: "1",
        TF_INPUT: "0",
        CHECKPOINT_DISABLE: "1",
        TF_CLI_CONFIG_FILE: path.join(copy.dir, "terraformrc"),
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        AWS_REGION: "us-east-1",
        AWS_EC2_METADATA_DISABLED: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`terraform ${args[0]} in ${copy.stack} did not finish in ${timeoutMs / 1000} s; see ${path.join(copy.dir, `${log}.log`)}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      writeFileSync(path.join(copy.dir, `${log}.log`), output);
      resolve({ code: code ?? -1, output, stdout, ms: Date.now() - started });
    });
  });

/** Like `terraform`, but rejects unless the exit code is one of `ok`, with the output's tail. */
export const terraformOk = async (copy: WorkingCopy, args: ReadonlyArray<string>, log: string, ok: ReadonlyArray<number> = [0]): Promise<Run> => {
  const run = await terraform(copy, args, log);
  if (!ok.includes(run.code)) {
    const tail = run.output.split("\n").slice(-60).join("\n");
    throw new Error(`terraform ${args.join(" ").slice(0, 120)} in ${copy.stack} exited ${run.code}:\n${tail}`);
  }
  return run;
};

export const targetArgs = (copy: WorkingCopy): string[] => (copy.unappliable.length === 0 ? [] : copy.targets.map((address) => `-target=${address}`));

interface PlanJson {
  readonly resource_changes?: ReadonlyArray<{
    readonly address: string;
    readonly type: string;
    readonly change: { readonly actions: ReadonlyArray<string>; readonly before: Json | null; readonly after: Json | null; readonly after_unknown?: Json };
  }>;
}

export interface PlanSummary {
  /** Resources the plan would create, replace or delete, with their actions. */
  readonly structural: ReadonlyArray<string>;
  /** Every attribute an in-place update would change. */
  readonly updates: ReadonlyArray<AttributeChange>;
}

/** The changes in a saved plan (`terraform show -json`), attribute by attribute. */
export const summarizePlan = (planJson: string): PlanSummary => {
  const plan = JSON.parse(planJson) as PlanJson;
  const structural: string[] = [];
  const updates: AttributeChange[] = [];
  for (const change of plan.resource_changes ?? []) {
    const actions = change.change.actions;
    if (actions.length === 1 && (actions[0] === "no-op" || actions[0] === "read")) continue;
    if (actions.length !== 1 || actions[0] !== "update") {
      structural.push(`${change.address}: ${actions.join("+")}`);
      continue;
    }
    const before = change.change.before ?? {};
    const after = change.change.after ?? {};
    const unknown = change.change.after_unknown ?? {};
    for (const attribute of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const known = unknown[attribute] === undefined || unknown[attribute] === false;
      if (known && JSON.stringify(before[attribute]) === JSON.stringify(after[attribute])) continue;
      updates.push({ type: change.type, address: change.address, attribute, before: before[attribute], after: known ? after[attribute] : "(known after apply)" });
    }
  }
  return { structural, updates };
};

export const outputsOf = async (copy: WorkingCopy): Promise<Record<string, unknown>> => {
  const run = await terraformOk(copy, ["output", "-json"], "output");
  const outputs = JSON.parse(run.stdout) as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(outputs).map(([name, { value }]) => [name, value]));
};
