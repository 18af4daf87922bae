import { spawnSync } from "node:child_process";
import path from "node:path";

/**
 * Lints snippets as if they lived in each layer, with the project's own eslint.config.mjs,
 * and checks that the dependency-direction rule (and the domain's no-clock/no-random rules)
 * fire on violations and stay quiet otherwise.
 *
 * ESLint loads a flat config with a dynamic `import()`, which jest's CommonJS runtime refuses
 * without --experimental-vm-modules. So one child Node process runs ESLint's Node API on all
 * snippets at once and prints the results as JSON: the real config, the real rule.
 */

const root = path.resolve(__dirname, "..", "..");

interface LintMessage {
  readonly ruleId: string | null;
  readonly message: string;
  readonly line: number;
  readonly fatal?: boolean;
}

interface Snippet {
  /** Path relative to the repository root; the file need not exist. */
  readonly file: string;
  readonly code: string;
}

const LINT_SCRIPT = `
import { ESLint } from "eslint";
import path from "node:path";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const snippets = JSON.parse(input);
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const { file, code } of snippets) {
  const [result] = await eslint.lintText(code, { filePath: path.join(process.cwd(), file) });
  out.push(result.messages.map(({ ruleId, message, line, fatal }) => ({ ruleId, message, line, fatal })));
}
process.stdout.write(JSON.stringify(out));
`;

const lintAll = (snippets: ReadonlyArray<Snippet>): ReadonlyArray<ReadonlyArray<LintMessage>> => {
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", LINT_SCRIPT], {
    cwd: root,
    input: JSON.stringify(snippets),
    encoding: "utf8",
    timeout: 55_000,
  });
  if (run.status !== 0) throw new Error(`eslint runner failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as ReadonlyArray<ReadonlyArray<LintMessage>>;
};

const RULE = "project/layer-boundaries";

const importing = (specifier: string): string => `import { thing } from "${specifier}";\nexport const used = thing;\n`;

interface Case extends Snippet {
  readonly name: string;
  /** The rule expected to report on line 1, or null when the snippet must pass that rule. */
  readonly reportedBy: string | null;
  /** A fragment the report's message must contain. */
  readonly mentions?: string;
}

const violates = (name: string, file: string, specifier: string, mentions?: string): Case => ({
  name,
  file,
  code: importing(specifier),
  reportedBy: RULE,
  ...(mentions === undefined ? {} : { mentions }),
});

const allowed = (name: string, file: string, specifier: string): Case => ({
  name,
  file,
  code: importing(specifier),
  reportedBy: null,
});

const cases: ReadonlyArray<Case> = [
  // domain/ is pure
  violates("domain importing pg", "domain/some-file.ts", "pg", "domain/ is pure: it may import only fp-ts and io-ts, not pg"),
  violates("domain importing kysely", "domain/some-file.ts", "kysely", "not kysely"),
  violates("domain importing ioredis", "domain/some-file.ts", "ioredis", "not ioredis"),
  violates("domain importing node:fs", "domain/some-file.ts", "node:fs", "no Node built-ins (node:fs)"),
  violates("domain importing the bare built-in fs", "domain/some-file.ts", "fs", "not fs"),
  violates("domain importing cdktf", "domain/some-file.ts", "cdktf", "not cdktf"),
  violates("domain importing aws-lambda types", "domain/some-file.ts", "aws-lambda", "not aws-lambda"),
  violates("domain importing ../adapters/x", "domain/some-file.ts", "../adapters/x", "not adapters/"),
  violates("domain importing ../handlers/x", "domain/some-file.ts", "../handlers/x", "not handlers/"),
  violates("domain importing main.ts", "domain/some-file.ts", "../main", "domain/ is pure"),
  violates("a nested domain file importing ../../local/x", "domain/deep/some-file.ts", "../../local/x", "not local/"),
  violates("domain importing outside the project", "domain/some-file.ts", "../../elsewhere", "outside the project"),
  {
    name: "domain requiring pg",
    file: "domain/some-file.ts",
    code: 'export const pg: unknown = require("pg");\n',
    reportedBy: RULE,
    mentions: "not pg",
  },
  {
    name: "domain re-exporting pg",
    file: "domain/some-file.ts",
    code: 'export * from "pg";\n',
    reportedBy: RULE,
    mentions: "not pg",
  },
  {
    name: "domain importing pg dynamically",
    file: "domain/some-file.ts",
    code: 'export const load = () => import("pg");\n',
    reportedBy: RULE,
    mentions: "not pg",
  },
  {
    name: "domain importing only a type from pg",
    file: "domain/some-file.ts",
    code: 'import type { Pool } from "pg";\nexport type P = Pool;\n',
    reportedBy: RULE,
    mentions: "not pg",
  },
  allowed("domain importing fp-ts/Either", "domain/some-file.ts", "fp-ts/Either"),
  allowed("domain importing fp-ts/function", "domain/some-file.ts", "fp-ts/function"),
  allowed("domain importing io-ts", "domain/some-file.ts", "io-ts"),
  allowed("domain importing ./money", "domain/some-file.ts", "./money"),
  allowed("a nested domain file importing ../money", "domain/deep/some-file.ts", "../money"),

  // adapters/ -> domain only
  violates("adapters importing ../handlers/x", "adapters/postgres/x.ts", "../../handlers/x", "adapters/ may not import handlers/"),
  violates("adapters importing ../handlers/x (top level)", "adapters/x.ts", "../handlers/x", "adapters/ may not import handlers/"),
  violates("adapters importing ../local/x", "adapters/x.ts", "../local/x", "adapters/ may not import local/"),
  violates("adapters importing ../infra/x", "adapters/x.ts", "../infra/x", "adapters/ may not import infra/"),
  violates("adapters importing cdktf", "adapters/x.ts", "cdktf", "cdktf belongs in infra/ and main.ts only"),
  allowed("adapters importing ../domain/money", "adapters/x.ts", "../domain/money"),
  allowed("adapters importing pg", "adapters/x.ts", "pg"),
  allowed("adapters importing kysely", "adapters/x.ts", "kysely"),

  // handlers/ -> adapters -> domain
  violates("handlers importing ../local/x", "handlers/get-client.ts", "../local/x", "only local/ and tests may import local/, not handlers/"),
  violates("a handler importing cdktf", "handlers/get-client.ts", "cdktf", "cdktf belongs in infra/ and main.ts only, not handlers/"),
  violates("a handler importing an @cdktf provider", "handlers/get-client.ts", "@cdktf/provider-aws/lib/s3-bucket", "@cdktf/provider-aws belongs in infra/"),
  violates("a handler importing cdktn", "handlers/get-client.ts", "cdktn", "cdktn belongs in infra/"),
  violates("a handler importing ../infra/x", "handlers/get-client.ts", "../infra/x", "handlers/ may not import infra"),
  violates("a handler importing ../main.ts", "handlers/get-client.ts", "../main.ts", "handlers/ may not import main"),
  violates("a handler importing ../main (no extension)", "handlers/get-client.ts", "../main", "handlers/ may not import main"),
  violates("a handler importing ../main.js", "handlers/get-client.ts", "../main.js", "handlers/ may not import main"),
  allowed("a handler importing ../adapters/x", "handlers/get-client.ts", "../adapters/x"),
  allowed("a handler importing ../domain/client-view", "handlers/get-client.ts", "../domain/client-view"),

  // infra/ and main.ts alone speak cdktf
  allowed("infra importing cdktf", "infra/network.ts", "cdktf"),
  allowed("infra importing @cdktf/provider-aws/lib/s3-bucket", "infra/network.ts", "@cdktf/provider-aws/lib/s3-bucket"),
  allowed("infra importing constructs", "infra/network.ts", "constructs"),
  allowed("infra importing a shared domain constant", "infra/network.ts", "../domain/order"),
  allowed("main.ts importing cdktf", "main.ts", "cdktf"),
  violates("infra importing ../handlers/x", "infra/functions.ts", "../handlers/x", "infra/ builds resources; it may not import handlers/"),
  violates("infra importing ../adapters/x", "infra/functions.ts", "../adapters/x", "may not import adapters/"),

  // local/ -> handlers; tests may use local/
  allowed("local importing ../handlers/x", "local/main.ts", "../handlers/x"),
  violates("local importing cdktf", "local/main.ts", "cdktf", "cdktf belongs in infra/ and main.ts only, not local/"),
  allowed("an e2e test importing ../../local/x", "__tests__/e2e/x.test.ts", "../../local/x"),

  // the domain gets its clock and ids through ports
  {
    name: "domain using Date.now()",
    file: "domain/some-file.ts",
    code: "export const now = (): number => Date.now();\n",
    reportedBy: "no-restricted-properties",
    mentions: "use the Clock port",
  },
  {
    name: "domain using Math.random()",
    file: "domain/some-file.ts",
    code: "export const roll = (): number => Math.random();\n",
    reportedBy: "no-restricted-properties",
    mentions: "use the IdGenerator port",
  },
  {
    name: "domain using new Date()",
    file: "domain/some-file.ts",
    code: "export const now = (): Date => new Date();\n",
    reportedBy: "no-restricted-syntax",
    mentions: "use the Clock port",
  },
  {
    name: "domain reading process.env",
    file: "domain/some-file.ts",
    code: "export const region = (): string | undefined => process.env.AWS_REGION;\n",
    reportedBy: "no-restricted-globals",
    mentions: "domain/ reads no environment",
  },
];

/** Snippets that break no rule at all: none of the restricted rules may fire on them. */
const clean: ReadonlyArray<Case> = [
  {
    name: "domain building a Date from a given instant",
    file: "domain/some-file.ts",
    code: "export const at = (ms: number): Date => new Date(ms);\n",
    reportedBy: null,
  },
  {
    name: "an adapter using Date.now() and Math.random()",
    file: "adapters/clock.ts",
    code: "export const now = (): number => Date.now() + Math.random();\n",
    reportedBy: null,
  },
];

const RESTRICTED = [RULE, "no-restricted-properties", "no-restricted-syntax", "no-restricted-globals"];

describe("the project's lint configuration", () => {
  let results: ReadonlyArray<ReadonlyArray<LintMessage>> = [];

  beforeAll(() => {
    results = lintAll([...cases, ...clean]);
  });

  const messagesOf = (c: Case): ReadonlyArray<LintMessage> => {
    const index = [...cases, ...clean].indexOf(c);
    const messages = results[index];
    if (messages === undefined) throw new Error(`no lint result for ${c.name}`);
    return messages;
  };

  it("lints every snippet, none of them ignored or unparsable", () => {
    expect(results).toHaveLength(cases.length + clean.length);
    for (const c of [...cases, ...clean]) {
      // An ignored file yields a warning without ruleId; a parse error is fatal.
      expect({ name: c.name, broken: messagesOf(c).filter((m) => m.ruleId === null || m.fatal === true) }).toEqual({
        name: c.name,
        broken: [],
      });
    }
  });

  describe.each(cases.filter((c) => c.reportedBy !== null))("reports $name", (c) => {
    it(`with ${c.reportedBy}`, () => {
      const reports = messagesOf(c).filter((m) => m.ruleId === c.reportedBy);
      expect(reports).toHaveLength(1);
      expect(reports[0]?.line).toBe(1);
      if (c.mentions !== undefined) expect(reports[0]?.message).toContain(c.mentions);
    });
  });

  describe.each(cases.filter((c) => c.reportedBy === null))("allows $name", (c) => {
    it("without a layer-boundaries report", () => {
      expect(messagesOf(c).filter((m) => m.ruleId === RULE)).toEqual([]);
    });
  });

  describe.each(clean)("does not restrict $name", (c) => {
    it("with any of the restriction rules", () => {
      expect(messagesOf(c).filter((m) => m.ruleId !== null && RESTRICTED.includes(m.ruleId))).toEqual([]);
    });
  });
});
