import { randomUUID } from "node:crypto";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import basic from "../fixtures/aws-events/sqs-basic.json";
import withSns from "../fixtures/aws-events/sqs-with-sns-envelope.json";

const template = (basic as unknown as SQSEvent).Records[0] as SQSRecord;
const snsBody = JSON.parse((withSns as unknown as SQSEvent).Records[0]!.body) as Record<string, unknown>;

/** An SQS record shaped like a real one (from a captured event), carrying `body`. */
export const sqsRecord = (body: string): SQSRecord => ({
  ...template,
  messageId: randomUUID(),
  body,
  messageAttributes: { eventType: { stringValue: "OrderPlaced", dataType: "String", stringListValues: [], binaryListValues: [] } },
});

/** The SNS envelope a subscription without raw delivery wraps the message in (from a captured one). */
export const snsWrapped = (message: unknown): string =>
  JSON.stringify({ ...snsBody, MessageId: randomUUID(), Message: JSON.stringify(message) });

export const sqsEvent = (records: ReadonlyArray<SQSRecord>): SQSEvent => ({ Records: [...records] });

export const lambdaContext = (): Context =>
  ({
    awsRequestId: randomUUID(),
    functionName: "test",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:test",
    memoryLimitInMB: "256",
    logGroupName: "/aws/lambda/test",
    logStreamName: "test",
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;
