// Shared by the infra tests: synthesizes every stack once per test file, with stub bundles
// (bundling.test.ts runs the real esbuild).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type App, Testing } from "cdktf";
import { ACCOUNT_STACK, buildApp, stackName } from "../../infra/app";
import { stubBundler } from "../../infra/bundling";
import type { EnvironmentName } from "../../infra/config";

export type Block = Record<string, unknown>;

export interface SynthesizedStack {
  readonly terraform: { readonly backend: Record<string, Record<string, unknown>> };
  readonly provider: { readonly aws: ReadonlyArray<{ region: string; default_tags: ReadonlyArray<{ tags: Record<string, string> }> }> };
  readonly resource?: Record<string, Record<string, Block>>;
  readonly data?: Record<string, Record<string, Block>>;
  readonly output?: Record<string, Block>;
  readonly variable?: Record<string, Block>;
  readonly locals?: Record<string, unknown>;
}

/**
 * Runs `build` with a cdktf test app whose output folder is a new temporary one, and removes
 * it afterwards, with whatever `build` put in it (`dir`: bundles, say). cdktf's own
 * `Testing.app()` would leave a `cdktf.outdir.*` folder in the OS temp dir at every call.
 */
export const withTestApp = <T>(build: (app: App, dir: string) => T): T => {
  const outdir = mkdtempSync(join(tmpdir(), "cqrs-outbox-synth-"));
  try {
    return build(Testing.app({ outdir }) as App, outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
};

/** Every stack of the app, as the JSON string cdktf writes and parsed. */
export const synthesizeAll = (): ReadonlyMap<string, { readonly text: string; readonly json: SynthesizedStack }> =>
  withTestApp((testApp, dir) => {
    const app = buildApp(testApp, { bundler: stubBundler(join(dir, "bundles")) });
    return new Map(
      app.node.children.map((stack) => {
        const text = Testing.synth(stack as never);
        return [stack.node.id, { text, json: JSON.parse(text) as SynthesizedStack }];
      }),
    );
  });

export const environmentStack = (stacks: ReturnType<typeof synthesizeAll>, environment: EnvironmentName) => {
  const stack = stacks.get(stackName(environment));
  if (stack === undefined) throw new Error(`no stack for ${environment}`);
  return stack;
};

export const accountStack = (stacks: ReturnType<typeof synthesizeAll>) => {
  const stack = stacks.get(ACCOUNT_STACK);
  if (stack === undefined) throw new Error(`no stack ${ACCOUNT_STACK}`);
  return stack;
};

/** The resources of one type, by their Terraform name. */
export const resourcesOf = (stack: SynthesizedStack, type: string): ReadonlyArray<[string, Block]> =>
  Object.entries(stack.resource?.[type] ?? {});

/** The single resource of a type whose name contains `fragment`. */
export const resourceNamed = (stack: SynthesizedStack, type: string, fragment: string): Block => {
  const found = resourcesOf(stack, type).filter(([name]) => name.includes(fragment));
  if (found.length !== 1) throw new Error(`expected one ${type} named like ${fragment}, found ${found.map(([n]) => n).join(", ") || "none"}`);
  return found[0]![1];
};
