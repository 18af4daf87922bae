import { type App } from "cdktf";
import { ENVIRONMENTS, STATE, type EnvironmentName } from "./config";
import { CqrsStack } from "./cqrs-stack";
import { StateStack } from "./state-stack";

export const STATE_STACK = "cqrs-state";
export const stackName = (environment: EnvironmentName): string => `cqrs-${environment}`;

/** Builds every stack into `app`: the state bootstrap and one stack per environment. */
export const buildApp = (app: App): App => {
  new StateStack(app, STATE_STACK, STATE);
  for (const environment of Object.values(ENVIRONMENTS)) {
    new CqrsStack(app, stackName(environment.name), { environment, state: STATE });
  }
  return app;
};
