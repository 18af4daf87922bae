import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaInvocation } from "@cdktf/provider-aws/lib/lambda-invocation";
import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";

/** A digest of every file in the migrations folder: it changes exactly when a migration does. */
export const migrationsDigest = (dir: string): string => {
  const hash = createHash("sha256");
  for (const file of readdirSync(dir).sort()) {
    hash.update(file).update("\0").update(readFileSync(path.join(dir, file))).update("\0");
  }
  return hash.digest("hex");
};

export interface MigrationProps {
  readonly migrate: LambdaFunction;
  /** Absolute path of the migrations folder. */
  readonly migrationsDir: string;
  /** What must exist before the function can reach the database (instances, endpoints, secrets). */
  readonly after: ReadonlyArray<ITerraformDependable>;
}

/**
 * Runs the migrate function during `terraform apply`, again whenever the migrations change.
 * It fails the apply if the function throws, so nothing downstream (the DMS task) starts on
 * a half-migrated database.
 */
export class Migration extends Construct {
  readonly invocation: LambdaInvocation;
  readonly digest: string;

  constructor(scope: Construct, id: string, props: MigrationProps) {
    super(scope, id);
    this.digest = migrationsDigest(props.migrationsDir);
    this.invocation = new LambdaInvocation(this, "invocation", {
      functionName: props.migrate.functionName,
      input: JSON.stringify({ migrations: this.digest }),
      triggers: { migrations: this.digest },
      dependsOn: [...props.after],
    });
  }
}
