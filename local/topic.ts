import { randomUUID } from "node:crypto";
import type { Ticket } from "./acknowledgement";
import type { LocalQueue } from "./queue";

interface Subscription {
  readonly queue: LocalQueue;
  /** Raw message delivery: the queue gets the message itself, not the SNS envelope. */
  readonly raw: boolean;
}

/**
 * An SNS standard topic in the process: fans every message out to its queue subscriptions.
 * Each copy holds the publisher's ticket until its queue has handled it.
 */
export class LocalTopic {
  private readonly subscriptions: Subscription[] = [];

  constructor(readonly name: string) {}

  subscribe(queue: LocalQueue, options: { readonly raw: boolean }): void {
    this.subscriptions.push({ queue, raw: options.raw });
  }

  publish(message: string, attributes: Readonly<Record<string, string>>, ticket?: Ticket): void {
    // Only the SNS envelope carries a message id; raw deliveries need none.
    let messageId: string | undefined;
    for (const { queue, raw } of this.subscriptions) {
      const body = raw
        ? message
        : JSON.stringify({
            Type: "Notification",
            MessageId: (messageId ??= randomUUID()),
            TopicArn: `arn:aws:sns:local:000000000000:${this.name}`,
            Message: message,
            Timestamp: new Date().toISOString(),
            MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { Type: "String", Value: v }])),
          });
      queue.send(body, attributes, ticket === undefined ? {} : { settle: ticket.hold() });
    }
  }
}
