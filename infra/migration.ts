import { LambdaInvocation } from "@cdktf/provider-aws/lib/lambda-invocation";
import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import type { NodeFunction } from "./functions";

export interface MigrationProps {
  readonly migrate: NodeFunction;
  /** What must exist before the function can reach the database (instances, endpoints, secrets). */
  readonly after: ReadonlyArray<ITerraformDependable>;
}

/**
 * Runs the migrate function during `terraform apply`, and again whenever its bundle changes:
 * the bundle holds the migrations, the seed and the replication user's grants, so a change to
 * any of them (or to the code they use) re-runs it, and nothing else does. The trigger is the
 * bundle's asset hash, the function's `source_code_hash`. It fails the apply if the function
 * throws, so nothing downstream (the DMS task) starts on a half-migrated database.
 */
export class Migration extends Construct {
  readonly invocation: LambdaInvocation;
  /** The migrate bundle's asset hash, which re-runs the invocation when it changes. */
  readonly bundleHash: string;

  constructor(scope: Construct, id: string, props: MigrationProps) {
    super(scope, id);
    this.bundleHash = props.migrate.asset.assetHash;
    this.invocation = new LambdaInvocation(this, "invocation", {
      functionName: props.migrate.function.functionName,
      input: JSON.stringify({ bundle: this.bundleHash }),
      triggers: { bundle: this.bundleHash },
      dependsOn: [...props.after],
    });
  }
}
