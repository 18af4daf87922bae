import { randomUUID } from "node:crypto";
import * as TE from "fp-ts/TaskEither";
import { readModelUnavailable, unavailable } from "../../domain/errors";
import { cents } from "../../domain/money";
import { orderPlaced, type Uuid } from "../../domain/outbox-event";
import type { ClientViewStore } from "../../domain/ports";
import { makeGetClientHandler } from "../../handlers/get-client";
import { makeProjectClientViewHandler } from "../../handlers/project-client-view";
import { READ_MODEL_UNAVAILABLE_LOG, READ_MODEL_UNAVAILABLE_PATTERN } from "../../infra/read-model-alarms";
import { apiGatewayEvent } from "../support/api-gateway";
import { logLines } from "../support/log-lines";
import { lambdaContext, sqsEvent, sqsRecord } from "../support/sqs";
import { environmentStack, resourcesOf, synthesizeAll, type Block } from "./synth";

const dev = environmentStack(synthesizeAll(), "dev");

describe("read-model alarm", () => {
  const filters = resourcesOf(dev.json, "aws_cloudwatch_log_metric_filter").map(([, f]) => f);
  const alarm = resourcesOf(dev.json, "aws_cloudwatch_metric_alarm")
    .map(([, a]) => a)
    .find((a) => a.alarm_name === "cqrs-dev-read-model-unavailable");

  it("counts the refusals in the projection's and get-client's logs into one metric of the stack", () => {
    expect(filters.map((f) => f.log_group_name).sort()).toEqual([
      expect.stringMatching(/^\$\{aws_cloudwatch_log_group\.functions_get-client_logs_.*\.name\}$/),
      expect.stringMatching(/^\$\{aws_cloudwatch_log_group\.functions_project-client-view_logs_.*\.name\}$/),
    ]);
    for (const f of filters) {
      expect(f.pattern).toBe('{ $.code = "ReadModelUnavailable" }');
      expect(f.metric_transformation).toEqual({ name: "ReadModelUnavailable", namespace: "cqrs-outbox/cqrs-dev", value: "1", unit: "Count" });
    }
  });

  it("fires on any refusal within a minute, notifies the alarm topic, and takes silence as fine", () => {
    expect(alarm).toEqual(
      expect.objectContaining({
        namespace: "cqrs-outbox/cqrs-dev",
        metric_name: "ReadModelUnavailable",
        statistic: "Sum",
        period: 60,
        evaluation_periods: 1,
        threshold: 0,
        comparison_operator: "GreaterThanThreshold",
        treat_missing_data: "notBreaching",
        alarm_actions: [expect.stringMatching(/^\$\{aws_sns_topic\.observability_alarms_.*\.arn\}$/)],
        ok_actions: [expect.stringMatching(/^\$\{aws_sns_topic\.observability_alarms_.*\.arn\}$/)],
      }),
    );
    expect(String((alarm as Block).alarm_description)).toContain("reproject_command");
  });
});

describe("the line the alarm counts", () => {
    /** What the filter pattern `{ $.field = "value" }` selects. */
  const counted = (lines: ReadonlyArray<Record<string, unknown>>) =>
    lines.filter((line) => line[READ_MODEL_UNAVAILABLE_LOG.field] === READ_MODEL_UNAVAILABLE_LOG.value);

  const refusing = (error = readModelUnavailable()): ClientViewStore => ({
    apply: () => TE.left(error),
    get: () => TE.left(error),
  });
  const event = orderPlaced({
    eventId: randomUUID() as Uuid,
    orderId: randomUUID(),
    client: { id: 7, name: "Seven", email: "seven@example.com" },
    occurredAt: new Date(),
    totalCents: cents(100),
    items: [],
  });

  it("is the pattern's field and value", () => {
    expect(READ_MODEL_UNAVAILABLE_PATTERN).toBe(`{ $.${READ_MODEL_UNAVAILABLE_LOG.field} = "${READ_MODEL_UNAVAILABLE_LOG.value}" }`);
  });

  it("is logged once per event the projection refuses, and not for another failure", async () => {
    const project = makeProjectClientViewHandler(async () => ({ views: refusing() }));
    const lines = await logLines(() => project(sqsEvent([sqsRecord(JSON.stringify(event)), sqsRecord(JSON.stringify(event))]), lambdaContext()));
    expect(counted(lines)).toEqual([
      expect.objectContaining({ level: "ERROR", message: "message failed", reason: expect.stringContaining("ReadModelUnavailable") }),
      expect.objectContaining({ level: "ERROR", message: "message failed" }),
    ]);

    const down = makeProjectClientViewHandler(async () => ({ views: refusing(unavailable("apply event")(new Error("ECONNREFUSED"))) }));
    const other = await logLines(() => down(sqsEvent([sqsRecord(JSON.stringify(event))]), lambdaContext()));
    expect(other).toEqual([expect.objectContaining({ message: "message failed", code: "Unavailable" })]);
    expect(counted(other)).toEqual([]);
  });

  it("is logged for each read answered 503 ReadModelUnavailable", async () => {
    const getClient = makeGetClientHandler(async () => ({ views: refusing() }));
    const request = apiGatewayEvent({ method: "GET", resource: "/clients/{id_client}", path: "/clients/7", pathParameters: { id_client: "7" } });
    let status = 0;
    const lines = await logLines(async () => (status = (await getClient(request)).statusCode));
    expect(status).toBe(503);
    expect(counted(lines)).toEqual([expect.objectContaining({ level: "WARN", message: expect.stringContaining("no generation") })]);
  });
});
