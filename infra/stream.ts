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
      // A week: the time a blocked Pipe (it never discards) has before Kinesis itself
      // expires records. Past that, a `reload-target` of the DMS task resends the outbox.
      retentionPeriod: 168,
      encryptionType: "KMS",
      kmsKeyId: props.key.arn,
      streamModeDetails: { streamMode: props.config.mode },
      shardCount: props.config.mode === "PROVISIONED" ? props.config.shards : undefined,
    });
  }
}
