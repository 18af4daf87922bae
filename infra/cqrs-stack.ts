import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { useRemoteState } from "./backend";
import type { EnvironmentConfig, StateConfig } from "./config";

export interface CqrsStackProps {
  readonly environment: EnvironmentConfig;
  readonly state: StateConfig;
}

/** The whole system for one environment. */
export class CqrsStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: CqrsStackProps) {
    super(scope, id);
    const { environment } = props;
    useRemoteState(this, id, props.state);
    new AwsProvider(this, "aws", {
      region: environment.region,
      defaultTags: [{ tags: { project: "cqrs-outbox", environment: environment.name, stack: id } }],
    });
  }
}
