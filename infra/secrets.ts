import { DataAwsSecretsmanagerRandomPassword } from "@cdktf/provider-aws/lib/data-aws-secretsmanager-random-password";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { Fn } from "cdktf";
import { Construct } from "constructs";

export interface GeneratedSecretProps {
  readonly name: string;
  readonly description: string;
  readonly recoveryDays: number;
  /** The secret's JSON, given the generated password (a Terraform expression). */
  readonly value: (password: string) => Record<string, unknown>;
  readonly passwordLength?: number;
}

/**
 * A Secrets Manager secret whose password Secrets Manager generates
 * (`aws_secretsmanager_random_password`, no random provider needed offline). That data
 * source yields a new password on every read, so the version keeps the first one
 * (`ignore_changes`): plans stay clean, and rotation is an explicit act.
 */
export class GeneratedSecret extends Construct {
  readonly secret: SecretsmanagerSecret;
  readonly version: SecretsmanagerSecretVersion;
  /** The generated password as a Terraform expression, for resources that need the value itself. */
  readonly password: string;

  constructor(scope: Construct, id: string, props: GeneratedSecretProps) {
    super(scope, id);
    const generated = new DataAwsSecretsmanagerRandomPassword(this, "password", {
      passwordLength: props.passwordLength ?? 32,
      // Letters and digits only: safe in a connection string, a Basic credential and an AUTH token.
      excludePunctuation: true,
      includeSpace: false,
    });
    this.password = generated.randomPassword;
    this.secret = new SecretsmanagerSecret(this, "secret", {
      name: props.name,
      description: props.description,
      recoveryWindowInDays: props.recoveryDays,
    });
    this.version = new SecretsmanagerSecretVersion(this, "version", {
      secretId: this.secret.id,
      secretString: Fn.jsonencode(props.value(this.password)),
      lifecycle: { ignoreChanges: ["secret_string"] },
    });
  }
}
