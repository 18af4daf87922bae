import { S3Backend, type TerraformStack } from "cdktf";
import type { StateConfig } from "./config";

/**
 * Remote state in the bootstrap bucket: one key per stack (and so per environment),
 * encrypted, locked with S3-native lock files (no DynamoDB table to create or forget).
 */
export const useRemoteState = (stack: TerraformStack, stackName: string, state: StateConfig): S3Backend => {
  const backend = new S3Backend(stack, {
    bucket: state.bucket,
    key: `${stackName}/terraform.tfstate`,
    region: state.region,
    encrypt: true,
  });
  // cdktf 0.21 predates the S3 backend's `use_lockfile` argument (Terraform >= 1.10).
  stack.addOverride("terraform.backend.s3.use_lockfile", true);
  return backend;
};
