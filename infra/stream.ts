import { KinesisStream } from "@cdktf/provider-aws/lib/kinesis-stream";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Construct } from "constructs";
import type { EnvironmentConfig } from "./config";

export interface StreamProps {
  readonly prefix: string;
  readonly key: KmsKey;
  readonly config: EnvironmentConfig["stream"];
}

/** The change stream DMS writes the outbox into, one partition per aggregate. */
export class Stream extends Construct {
  readonly stream: KinesisStream;

  constructor(scope: Construct, id: string, props: StreamProps) {
    super(scope, id);
    this.stream = new KinesisStream(this, "stream", {
      name: `${props.prefix}-outbox`,
      retentionPeriod: 24,
      encryptionType: "KMS",
      kmsKeyId: props.key.arn,
      streamModeDetails: { streamMode: props.config.mode },
      shardCount: props.config.mode === "PROVISIONED" ? props.config.shards : undefined,
    });
  }
}
