import { ApiGatewayAccount } from "@cdktf/provider-aws/lib/api-gateway-account";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { API_GATEWAY_CLOUDWATCH_ROLE } from "./api";
import { useRemoteState } from "./backend";
import { DMS_LOGS_ROLE, DMS_VPC_ROLE } from "./cdc";
import type { AccountConfig, StateConfig } from "./config";
import { assumeRolePolicy, MANAGED_POLICIES } from "./iam";

export interface AccountStackProps {
  readonly account: AccountConfig;
  readonly state: StateConfig;
}

/**
 * The account-wide singletons every environment shares, one stack per account: the DMS roles
 * AWS looks up by name and API Gateway's account settings (its CloudWatch logging role).
 * Deploy it after `cqrs-state` and before any environment; destroy it after the last one.
 */
export class AccountStack extends TerraformStack {
  readonly apiGatewayAccount: ApiGatewayAccount;

  constructor(scope: Construct, id: string, props: AccountStackProps) {
    super(scope, id);
    useRemoteState(this, id, props.state);
    new AwsProvider(this, "aws", { region: props.account.region, defaultTags: [{ tags: { project: "cqrs-outbox", stack: id } }] });

    const role = (name: string, service: string, policyArn: string) => {
      const created = new IamRole(this, name, { name, assumeRolePolicy: assumeRolePolicy(service) });
      const attachment = new IamRolePolicyAttachment(this, `${name}-policy`, { role: created.name, policyArn });
      return { role: created, attachment };
    };
    if (props.account.createDmsVpcRole) role(DMS_VPC_ROLE, "dms.amazonaws.com", MANAGED_POLICIES.dmsVpc);
    if (props.account.createDmsCloudWatchLogsRole) role(DMS_LOGS_ROLE, "dms.amazonaws.com", MANAGED_POLICIES.dmsCloudWatchLogs);

    const apiGateway = role(API_GATEWAY_CLOUDWATCH_ROLE, "apigateway.amazonaws.com", MANAGED_POLICIES.apiGatewayCloudWatchLogs);
    // Destroying this resource resets the account's CloudWatch role: only this stack has it.
    this.apiGatewayAccount = new ApiGatewayAccount(this, "api-gateway-account", {
      cloudwatchRoleArn: apiGateway.role.arn,
      dependsOn: [apiGateway.attachment],
    });
    new TerraformOutput(this, "api_gateway_cloudwatch_role_arn", { value: apiGateway.role.arn });
  }
}
