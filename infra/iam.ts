/**
 * IAM policy documents as plain JSON (cdktf resolves the references inside the strings), so
 * tests can read every statement straight out of the synthesized stack.
 */
export interface Statement {
  readonly Sid?: string;
  readonly Effect?: "Allow" | "Deny";
  readonly Action: ReadonlyArray<string>;
  readonly Resource: ReadonlyArray<string>;
  readonly Condition?: Record<string, Record<string, string | ReadonlyArray<string>>>;
}

export const policyDocument = (statements: ReadonlyArray<Statement>): string =>
  JSON.stringify({ Version: "2012-10-17", Statement: statements.map((statement) => ({ Effect: "Allow", ...statement })) });

/** Trust policy letting the given service principals assume a role. */
export const assumeRolePolicy = (
  services: string | ReadonlyArray<string>,
  condition?: Record<string, Record<string, string>>,
): string =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: services },
        Action: "sts:AssumeRole",
        ...(condition === undefined ? {} : { Condition: condition }),
      },
    ],
  });

/** AWS-managed policies attached by ARN, each because AWS requires exactly that policy. */
export const MANAGED_POLICIES = {
  dmsVpc: "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole",
  dmsCloudWatchLogs: "arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole",
  apiGatewayCloudWatchLogs: "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
} as const;
