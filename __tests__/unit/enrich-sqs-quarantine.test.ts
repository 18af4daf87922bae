import { type SendMessageBatchCommand, type SendMessageBatchCommandOutput, SQSClient } from "@aws-sdk/client-sqs";
import * as E from "fp-ts/Either";
import {
  MAX_BODY_BYTES,
  type SqsBatchSender,
  createSqsQuarantine,
  quarantineMessageBody,
} from "../../adapters/quarantine/sqs-quarantine";
import type { Clock, QuarantinedRecord } from "../../domain/ports";

const QUEUE_URL = "https://sqs.eu-central-1.amazonaws.com/111122223333/outbox-quarantine";
const NOW = new Date("2024-02-09T13:20:20.123Z");
const clock: Clock = { now: () => NOW };

// The real client must fit the port the quarantine asks for (checked by tsc).
const _realClientFits: SqsBatchSender = new SQSClient({ region: "eu-central-1" });

type Reply = Pick<SendMessageBatchCommandOutput, "Successful" | "Failed">;

/** Accepts every entry, unless `reply` says otherwise for the n-th call (0-based). */
const fakeSqs = (reply: (call: number, command: SendMessageBatchCommand) => Reply | Error | undefined = () => undefined) => {
  const commands: SendMessageBatchCommand[] = [];
  const client: SqsBatchSender = {
    send: async (command) => {
      commands.push(command);
      const answer = reply(commands.length - 1, command);
      if (answer instanceof Error) throw answer;
      return (
        answer ?? {
          Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: "x" })),
          Failed: [],
        }
      );
    },
  };
  return { client, commands };
};

const records = (n: number): QuarantinedRecord[] =>
  Array.from({ length: n }, (_, i) => ({ raw: { sequenceNumber: String(i), data: "SGVsbG8=" }, reason: `bad ${i}` }));

const bodiesOf = (command: SendMessageBatchCommand): unknown[] =>
  (command.input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody ?? "null") as unknown);

describe("the SQS quarantine", () => {
  it("sends 25 records as batches of 10, 10 and 5, in order, each body {reason, raw, quarantinedAt}", async () => {
    const { client, commands } = fakeSqs();
    const put = records(25);

    expect(await createSqsQuarantine(client, QUEUE_URL, clock).put(put)()).toEqual(E.right(undefined));

    expect(commands.map((c) => c.input.Entries?.length)).toEqual([10, 10, 5]);
    expect(commands.every((c) => c.input.QueueUrl === QUEUE_URL)).toBe(true);
    expect(commands.flatMap(bodiesOf)).toEqual(
      put.map((r) => ({ reason: r.reason, raw: r.raw, quarantinedAt: "2024-02-09T13:20:20.123Z" })),
    );
    for (const command of commands) {
      const ids = (command.input.Entries ?? []).map((e) => e.Id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it("sends nothing for nothing", async () => {
    const { client, commands } = fakeSqs();
    expect(await createSqsQuarantine(client, QUEUE_URL, clock).put([])()).toEqual(E.right(undefined));
    expect(commands).toHaveLength(0);
  });

  it("is Unavailable when an entry of a batch failed, and stops there", async () => {
    const { client, commands } = fakeSqs((call, command) => {
      if (call !== 1) return undefined;
      const [first, ...rest] = command.input.Entries ?? [];
      return {
        Successful: rest.map((e) => ({ Id: e.Id, MessageId: "m", MD5OfMessageBody: "x" })),
        Failed: [{ Id: first?.Id, SenderFault: false, Code: "InternalError", Message: "try again" }],
      };
    });
    const result = await createSqsQuarantine(client, QUEUE_URL, clock).put(records(25))();

    expect(result).toEqual(
      E.left({
        code: "Unavailable",
        operation: "quarantine records",
        cause: { failed: [{ Id: "0", SenderFault: false, Code: "InternalError", Message: "try again" }], unconfirmed: [] },
      }),
    );
    expect(commands).toHaveLength(2);
  });

  it("is Unavailable when an entry is reported neither successful nor failed", async () => {
    const { client } = fakeSqs(() => ({ Successful: [], Failed: [] }));
    const result = await createSqsQuarantine(client, QUEUE_URL, clock).put(records(2))();
    expect(result).toEqual(E.left(expect.objectContaining({ code: "Unavailable", cause: { failed: [], unconfirmed: ["0", "1"] } })));
  });

  it("is Unavailable when the call itself fails", async () => {
    const error = new Error("connect ETIMEDOUT");
    const { client } = fakeSqs(() => error);
    expect(await createSqsQuarantine(client, QUEUE_URL, clock).put(records(1))()).toEqual(
      E.left({ code: "Unavailable", operation: "quarantine records", cause: error }),
    );
  });

  it("keeps each batch under the size limit too: five 100 KiB records go two by two", async () => {
    const { client, commands } = fakeSqs();
    const big = Array.from({ length: 5 }, (_, i) => ({ raw: "x".repeat(100 * 1024), reason: `big ${i}` }));
    expect(await createSqsQuarantine(client, QUEUE_URL, clock).put(big)()).toEqual(E.right(undefined));
    expect(commands.map((c) => c.input.Entries?.length)).toEqual([2, 2, 1]);
    for (const command of commands) {
      const total = (command.input.Entries ?? []).reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? ""), 0);
      expect(total).toBeLessThanOrEqual(MAX_BODY_BYTES);
    }
  });
});

describe("a quarantine message body", () => {
  it("is the record as JSON when it fits", () => {
    expect(JSON.parse(quarantineMessageBody({ raw: { data: "%%%" }, reason: "bad" }, NOW.toISOString()))).toEqual({
      reason: "bad",
      raw: { data: "%%%" },
      quarantinedAt: NOW.toISOString(),
    });
  });

  it("cuts raw to a prefix of its JSON text, says so, and fits 256 KiB exactly or just under", () => {
    // Multi-byte characters and characters JSON must escape, so bytes != characters.
    const raw = { data: `é"\\😀${"ab".repeat(200_000)}` };
    const rawText = JSON.stringify(raw);
    const body = quarantineMessageBody({ raw, reason: "too big to keep whole" }, NOW.toISOString());
    const parsed = JSON.parse(body) as { reason: string; raw: string; rawTruncated: boolean; rawBytes: number; quarantinedAt: string };

    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY_BYTES - 16);
    expect(parsed).toEqual({
      reason: "too big to keep whole",
      raw: expect.any(String),
      rawTruncated: true,
      rawBytes: Buffer.byteLength(rawText),
      quarantinedAt: NOW.toISOString(),
    });
    expect(rawText.startsWith(parsed.raw)).toBe(true);
    expect(parsed.raw.length).toBeGreaterThan(200_000);
  });

  it("escapes the two characters SQS refuses, keeping the same JSON value", () => {
    const body = quarantineMessageBody({ raw: "a\uFFFEb\uFFFF", reason: "odd" }, NOW.toISOString());
    expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
    expect((JSON.parse(body) as { raw: string }).raw).toBe("a\uFFFEb\uFFFF");
  });
});
