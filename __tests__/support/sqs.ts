import { randomUUID } from "node:crypto";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import { cents } from "../../domain/money";
import { orderPlaced, type OrderPlaced, type Uuid } from "../../domain/outbox-event";
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

/** The n-th OrderPlaced event of a test: a fixed id per n, client 1, one line of 100 cents. */
export const orderPlacedNumber = (n: number): OrderPlaced =>
  orderPlaced({
    eventId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}` as Uuid,
    orderId: `order-${n}`,
    client: { id: 1, name: "Bob", email: "bob@anemailprovider.com" },
    occurredAt: new Date(),
    totalCents: cents(100),
    items: [{ productId: 1, quantity: 1, unitPriceCents: cents(100) }],
  });
