import { ApiGatewayApiKey } from "@cdktf/provider-aws/lib/api-gateway-api-key";
import { ApiGatewayAuthorizer } from "@cdktf/provider-aws/lib/api-gateway-authorizer";
import { ApiGatewayDeployment } from "@cdktf/provider-aws/lib/api-gateway-deployment";
import { ApiGatewayIntegration } from "@cdktf/provider-aws/lib/api-gateway-integration";
import { ApiGatewayMethod } from "@cdktf/provider-aws/lib/api-gateway-method";
import { ApiGatewayMethodSettings } from "@cdktf/provider-aws/lib/api-gateway-method-settings";
import { ApiGatewayResource } from "@cdktf/provider-aws/lib/api-gateway-resource";
import { ApiGatewayRestApi } from "@cdktf/provider-aws/lib/api-gateway-rest-api";
import { ApiGatewayStage } from "@cdktf/provider-aws/lib/api-gateway-stage";
import { ApiGatewayUsagePlan } from "@cdktf/provider-aws/lib/api-gateway-usage-plan";
import { ApiGatewayUsagePlanKey } from "@cdktf/provider-aws/lib/api-gateway-usage-plan-key";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamRole } from "@cdktf/provider-aws/lib/data-aws-iam-role";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import type { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import type { EnvironmentConfig } from "./config";
import type { GeneratedSecret } from "./secrets";
import { AUTHORIZER_TTL_SECONDS } from "../domain/contracts";

const API_NAME = "OrdersAPI";
const STAGE_NAME = "prod";
export const ADMIN_USER = "admin";
/** API Gateway's account-wide CloudWatch logging role; the `cqrs-account` stack creates it. */
export const API_GATEWAY_CLOUDWATCH_ROLE = "cqrs-apigateway-cloudwatch";
const API_KEY_REQUIRED = true;

/** One JSON object per request in the access log. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  requestTime: "$context.requestTime",
  httpMethod: "$context.httpMethod",
  resourcePath: "$context.resourcePath",
  status: "$context.status",
  protocol: "$context.protocol",
  responseLength: "$context.responseLength",
  integrationLatency: "$context.integrationLatency",
  authorizerError: "$context.authorizer.error",
  principal: "$context.authorizer.principalId",
});

export interface ApiProps {
  readonly prefix: string;
  readonly config: EnvironmentConfig["api"];
  readonly logRetentionDays: number;
  /** `{ username, password }`; created by the stack because the authorizer needs its ARN first. */
  readonly credentials: GeneratedSecret;
  readonly placeOrder: LambdaFunction;
  readonly getClient: LambdaFunction;
  readonly authorizer: LambdaFunction;
}

/**
 * `OrdersAPI`: POST /orders and GET /clients/{id_client} behind an HTTP Basic Lambda
 * authorizer. The authorizer also names the caller's API key (`api_key_source = AUTHORIZER`),
 * whose value is base64(user:pass) as in the original sample, so the usage plan applies.
 */
export class Api extends Construct {
  readonly restApi: ApiGatewayRestApi;
  readonly stage: ApiGatewayStage;
  readonly credentials: GeneratedSecret;
  readonly accessLogs: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.credentials = props.credentials;

    this.restApi = new ApiGatewayRestApi(this, "api", {
      name: API_NAME,
      description: `Orders (command) and clients (query), ${props.prefix}`,
      endpointConfiguration: { types: ["REGIONAL"] },
      apiKeySource: "AUTHORIZER",
    });
    const api = this.restApi;

    const authorizer = new ApiGatewayAuthorizer(this, "authorizer", {
      restApiId: api.id,
      name: "basic-auth",
      type: "REQUEST",
      authorizerUri: props.authorizer.invokeArn,
      identitySource: "method.request.header.Authorization",
      authorizerResultTtlInSeconds: AUTHORIZER_TTL_SECONDS,
    });
    new LambdaPermission(this, "authorizer-permission", {
      statementId: "AllowApiGatewayAuthorizer",
      action: "lambda:InvokeFunction",
      functionName: props.authorizer.functionName,
      principal: "apigateway.amazonaws.com",
      sourceArn: `${api.executionArn}/authorizers/${authorizer.id}`,
    });

    const orders = new ApiGatewayResource(this, "orders", { restApiId: api.id, parentId: api.rootResourceId, pathPart: "orders" });
    const clients = new ApiGatewayResource(this, "clients", { restApiId: api.id, parentId: api.rootResourceId, pathPart: "clients" });
    const client = new ApiGatewayResource(this, "client", { restApiId: api.id, parentId: clients.id, pathPart: "{id_client}" });

    const route = (name: string, resource: ApiGatewayResource, httpMethod: string, fn: LambdaFunction, path: string, params?: Record<string, boolean>) => {
      const method = new ApiGatewayMethod(this, `${name}-method`, {
        restApiId: api.id,
        resourceId: resource.id,
        httpMethod,
        authorization: "CUSTOM",
        authorizerId: authorizer.id,
        apiKeyRequired: API_KEY_REQUIRED,
        requestParameters: params,
      });
      const integration = new ApiGatewayIntegration(this, `${name}-integration`, {
        restApiId: api.id,
        resourceId: resource.id,
        httpMethod: method.httpMethod,
        type: "AWS_PROXY",
        integrationHttpMethod: "POST",
        uri: fn.invokeArn,
      });
      new LambdaPermission(this, `${name}-permission`, {
        statementId: `AllowApiGateway-${name}`,
        action: "lambda:InvokeFunction",
        functionName: fn.functionName,
        principal: "apigateway.amazonaws.com",
        sourceArn: `${api.executionArn}/*/${httpMethod}${path}`,
      });
      return { method, integration };
    };
    const placeOrder = route("place-order", orders, "POST", props.placeOrder, "/orders");
    const getClient = route("get-client", client, "GET", props.getClient, "/clients/*", { "method.request.path.id_client": true });

    const parts = [orders, clients, client, placeOrder.method, placeOrder.integration, getClient.method, getClient.integration, authorizer];
    // Ids change only when a part is replaced; in-place edits (an integration's URI, a method's
    // authorization or API key requirement, the authorizer's settings) must redeploy too.
    const settings = [
      ...[placeOrder, getClient].flatMap(({ method, integration }) => [method.authorization, method.authorizerId, integration.uri, integration.type]),
      authorizer.authorizerUri,
      authorizer.identitySource,
      authorizer.type,
      // Plain text, no quotes: it is spliced into the HCL expression as a string literal.
      `apiKeyRequired=${API_KEY_REQUIRED} authorizerTtl=${AUTHORIZER_TTL_SECONDS}`,
    ];
    const deployment = new ApiGatewayDeployment(this, "deployment", {
      restApiId: api.id,
      // A new deployment whenever a route, integration or the authorizer changes.
      triggers: { redeployment: Fn.sha1(Fn.jsonencode([...parts.map((part) => part.id), ...settings])) },
      lifecycle: { createBeforeDestroy: true },
      dependsOn: parts as ITerraformDependable[],
    });

    // Stage logging needs the account's CloudWatch role, which `cqrs-account` sets: reading
    // the role fails the plan, not the apply, when that stack has not been deployed.
    const accountLoggingRole = new DataAwsIamRole(this, "cloudwatch-role", { name: API_GATEWAY_CLOUDWATCH_ROLE });
    this.accessLogs = new CloudwatchLogGroup(this, "access-logs", {
      name: `/aws/apigateway/${props.prefix}-orders-api/access`,
      retentionInDays: props.logRetentionDays,
    });
    // API Gateway would create the execution log group itself, with no retention.
    const executionLogs = new CloudwatchLogGroup(this, "execution-logs", {
      name: `API-Gateway-Execution-Logs_${api.id}/${STAGE_NAME}`,
      retentionInDays: props.logRetentionDays,
    });
    this.stage = new ApiGatewayStage(this, "stage", {
      restApiId: api.id,
      stageName: STAGE_NAME,
      deploymentId: deployment.id,
      accessLogSettings: { destinationArn: this.accessLogs.arn, format: ACCESS_LOG_FORMAT },
      dependsOn: [accountLoggingRole, executionLogs],
    });
    new ApiGatewayMethodSettings(this, "stage-settings", {
      restApiId: api.id,
      stageName: this.stage.stageName,
      methodPath: "*/*",
      settings: {
        metricsEnabled: true,
        loggingLevel: "ERROR",
        throttlingRateLimit: props.config.throttleRateLimit,
        throttlingBurstLimit: props.config.throttleBurstLimit,
      },
    });

    const key = new ApiGatewayApiKey(this, "admin-key", {
      name: "admin_key",
      description: "base64(user:pass) of the API credentials; the authorizer hands it to the usage plan",
      enabled: true,
      value: Fn.base64encode(`${ADMIN_USER}:${this.credentials.password}`),
      // Same reason as the secret version: the generated password is read once.
      lifecycle: { ignoreChanges: ["value"] },
    });
    const plan = new ApiGatewayUsagePlan(this, "usage-plan", {
      name: `${props.prefix}-orders`,
      apiStages: [{ apiId: api.id, stage: this.stage.stageName }],
      throttleSettings: { rateLimit: props.config.throttleRateLimit, burstLimit: props.config.throttleBurstLimit },
    });
    new ApiGatewayUsagePlanKey(this, "usage-plan-key", { keyId: key.id, keyType: "API_KEY", usagePlanId: plan.id });
  }
}
