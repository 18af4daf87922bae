import path from "node:path";
import { type App } from "cdktf";
import { AccountStack } from "./account-stack";
import { esbuildBundler, type Bundler } from "./bundling";
import { ACCOUNT, ENVIRONMENTS, STATE, type EnvironmentName } from "./config";
import { CqrsStack, type SourcePaths } from "./cqrs-stack";
import { StateStack } from "./state-stack";

export const STATE_STACK = "cqrs-state";
/** Account-wide roles and settings, one per account: deploy order is state -> account -> environments. */
export const ACCOUNT_STACK = "cqrs-account";
export const stackName = (environment: EnvironmentName): string => `cqrs-${environment}`;

const ROOT = path.resolve(__dirname, "..");
export const SOURCE_PATHS: SourcePaths = {
  handlersDir: path.join(ROOT, "handlers"),
};

export interface BuildOptions {
  /** How handlers become bundles: esbuild by default; tests may pass `stubBundler()`. */
  readonly bundler?: Bundler;
  readonly paths?: SourcePaths;
}

/** Builds every stack into `app`: the state bootstrap, the account stack and one stack per environment. */
export const buildApp = (app: App, options: BuildOptions = {}): App => {
  // One bundler for all stacks: each handler is built once however many environments use it.
  const bundler = options.bundler ?? esbuildBundler();
  const paths = options.paths ?? SOURCE_PATHS;
  new StateStack(app, STATE_STACK, STATE);
  new AccountStack(app, ACCOUNT_STACK, { account: ACCOUNT, state: STATE });
  for (const environment of Object.values(ENVIRONMENTS)) {
    new CqrsStack(app, stackName(environment.name), { environment, state: STATE, bundler, paths });
  }
  return app;
};
