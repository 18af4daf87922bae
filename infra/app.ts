import path from "node:path";
import { type App } from "cdktf";
import { esbuildBundler, type Bundler } from "./bundling";
import { ENVIRONMENTS, STATE, type EnvironmentName } from "./config";
import { CqrsStack, type SourcePaths } from "./cqrs-stack";
import { StateStack } from "./state-stack";

export const STATE_STACK = "cqrs-state";
export const stackName = (environment: EnvironmentName): string => `cqrs-${environment}`;

const ROOT = path.resolve(__dirname, "..");
export const SOURCE_PATHS: SourcePaths = {
  handlersDir: path.join(ROOT, "handlers"),
  migrationsDir: path.join(ROOT, "adapters", "postgres", "migrations"),
};

export interface BuildOptions {
  /** How handlers become bundles: esbuild by default; tests may pass `stubBundler()`. */
  readonly bundler?: Bundler;
  readonly paths?: SourcePaths;
}

/** Builds every stack into `app`: the state bootstrap and one stack per environment. */
export const buildApp = (app: App, options: BuildOptions = {}): App => {
  // One bundler for all stacks: each handler is built once however many environments use it.
  const bundler = options.bundler ?? esbuildBundler();
  const paths = options.paths ?? SOURCE_PATHS;
  new StateStack(app, STATE_STACK, STATE);
  for (const environment of Object.values(ENVIRONMENTS)) {
    new CqrsStack(app, stackName(environment.name), { environment, state: STATE, bundler, paths });
  }
  return app;
};
