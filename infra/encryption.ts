import { type DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Construct } from "constructs";

export interface EncryptionProps {
  readonly prefix: string;
  readonly account: DataAwsCallerIdentity;
}

/**
 * The customer-managed key of the event path (Kinesis stream, SNS topics). A CMK rather than
 * the AWS-managed keys because CloudWatch alarms cannot publish to a topic under
 * `alias/aws/sns`; its policy delegates to IAM and lets CloudWatch (alarms) and DMS (task events) encrypt
 * the messages they publish.
 */
export class Encryption extends Construct {
  readonly key: KmsKey;

  constructor(scope: Construct, id: string, props: EncryptionProps) {
    super(scope, id);
    this.key = new KmsKey(this, "key", {
      description: `${props.prefix} event path (Kinesis, SNS)`,
      enableKeyRotation: true,
      deletionWindowInDays: 7,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DelegateToIam",
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${props.account.accountId}:root` },
            Action: "kms:*",
            Resource: "*",
          },
          {
            Sid: "CloudWatchAlarmsPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: "*",
            Condition: { StringEquals: { "aws:SourceAccount": props.account.accountId } },
          },
          {
            Sid: "DmsEventsPublish",
            Effect: "Allow",
            Principal: { Service: "dms.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: "*",
          },
        ],
      }),
    });
    new KmsAlias(this, "alias", { name: `alias/${props.prefix}-events`, targetKeyId: this.key.keyId });
  }
}
