// Run by young-generation.test.ts as `node --allow-natives-syntax --import tsx <this file>`:
// prints, as JSON, V8's own answers (natives syntax, hence the flag) about the objects the
// runtime makes once per message: fast properties, and one hidden class ("map") for all.
import type { SQSRecord } from "aws-lambda";
import { LocalQueue } from "../../local/queue";

// Natives syntax parses only at run time, hence the Function constructor.
const haveSameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;
const hasFastProperties = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;

const recordsOfOneQueue = async (): Promise<ReadonlyArray<SQSRecord>> => {
  const queue = new LocalQueue({ name: "probe", retryDelayMs: 1, maxReceiveCount: 3, batchSize: 10 });
  const records: SQSRecord[] = [];
  queue.consume(async (event) => void records.push(...event.Records));
  for (let i = 0; i < 5; i++) queue.send(`{"n":${i}}`, { eventType: "OrderPlaced" });
  await queue.drain();
  await queue.stop();
  return records;
};

const main = async () => {
  const records = await recordsOfOneQueue();
  const [first, ...others] = records;
  if (first === undefined) throw new Error("the queue delivered nothing");
  process.stdout.write(
    `${JSON.stringify({
      records: records.length,
      fastProperties: records.every(hasFastProperties),
      oneHiddenClass: others.every((record) => haveSameMap(first, record)),
      md5: first.md5OfBody,
    })}\n`,
  );
};

void main();
