import { batcher } from "../../adapters/postgres/statement-batcher";

/** A statement that records each batch it ran and answers after the test lets it. */
const recordingStatement = () => {
  const batches: Array<ReadonlyArray<number>> = [];
  const pending: Array<() => void> = [];
  const run = (inputs: ReadonlyArray<number>) => {
    batches.push(inputs);
    return new Promise<ReadonlyArray<number>>((resolve) => pending.push(() => resolve(inputs.map((n) => n * 10))));
  };
  const answerAll = () => pending.splice(0).forEach((answer) => answer());
  return { batches, run, answerAll };
};

const turn = () => new Promise<void>((done) => setImmediate(done));

describe("the statement batcher (group commit)", () => {
  it("sends a lone call at once, alone", async () => {
    const statement = recordingStatement();
    const call = batcher(statement.run, { maxBatch: 8, maxInFlight: 1 });
    const answer = call(1);
    await turn();
    expect(statement.batches).toEqual([[1]]);
    statement.answerAll();
    expect(await answer).toBe(10);
  });

  it("gathers the calls of one turn, and those made while a batch is out, each answered with its own result", async () => {
    const statement = recordingStatement();
    const call = batcher(statement.run, { maxBatch: 8, maxInFlight: 1 });
    const first = [call(1), call(2)];
    await turn();
    const later = [call(3), call(4), call(5)];
    await turn();
    expect(statement.batches).toEqual([[1, 2]]);
    statement.answerAll();
    expect(await Promise.all(first)).toEqual([10, 20]);
    await turn();
    expect(statement.batches).toEqual([[1, 2], [3, 4, 5]]);
    statement.answerAll();
    expect(await Promise.all(later)).toEqual([30, 40, 50]);
  });

  it("never puts more than maxBatch calls in one statement, nor more than maxInFlight statements out", async () => {
    const statement = recordingStatement();
    const call = batcher(statement.run, { maxBatch: 2, maxInFlight: 2 });
    const answers = [1, 2, 3, 4, 5, 6, 7].map(call);
    await turn();
    expect(statement.batches).toEqual([[1, 2], [3, 4]]);
    statement.answerAll();
    await turn();
    expect(statement.batches).toEqual([[1, 2], [3, 4], [5, 6], [7]]);
    statement.answerAll();
    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40, 50, 60, 70]);
  });

  it("runs a batch that failed as a statement again call by call, so only the bad call fails", async () => {
    const batches: Array<ReadonlyArray<number>> = [];
    const failed = Object.assign(new Error("insert violates a foreign key"), { code: "23503" });
    const call = batcher(
      async (inputs: ReadonlyArray<number>) => {
        batches.push(inputs);
        if (inputs.includes(13)) throw failed;
        return inputs.map((n) => n * 10);
      },
      { maxBatch: 8, maxInFlight: 1, isolate: (error) => (error as { code?: string }).code === "23503" },
    );
    const results = await Promise.allSettled([call(12), call(13), call(14)]);
    expect(results).toEqual([
      { status: "fulfilled", value: 120 },
      { status: "rejected", reason: failed },
      { status: "fulfilled", value: 140 },
    ]);
    expect(batches).toEqual([[12, 13, 14], [12], [13], [14]]);
  });

  it("fails every call of a batch whose outcome is unknown, and tries none again", async () => {
    let runs = 0;
    const lost = new Error("Connection terminated unexpectedly");
    const call = batcher(
      async () => {
        runs += 1;
        throw lost;
      },
      { maxBatch: 8, maxInFlight: 1, isolate: (error) => (error as { code?: string }).code !== undefined },
    );
    const results = await Promise.allSettled([call(1), call(2)]);
    expect(results).toEqual([
      { status: "rejected", reason: lost },
      { status: "rejected", reason: lost },
    ]);
    expect(runs).toBe(1);
  });

  it("fails every call when the statement answers a result count other than its calls'", async () => {
    const call = batcher(async () => [1], { maxBatch: 8, maxInFlight: 1 });
    const results = await Promise.allSettled([call(1), call(2)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  it("with lingerMs, holds a call that long for company, also between statements, unless a full batch waits", async () => {
    const statement = recordingStatement();
    const call = batcher(statement.run, { maxBatch: 3, maxInFlight: 1, lingerMs: 100 });
    const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
    const first = call(1);
    await sleep(10);
    const second = call(2);
    await turn();
    expect(statement.batches).toEqual([]);
    await sleep(150);
    expect(statement.batches).toEqual([[1, 2]]);
    // Made while a statement is out: they linger from their own arrival, not from its return.
    const third = call(3);
    statement.answerAll();
    expect(await Promise.all([first, second])).toEqual([10, 20]);
    await turn();
    expect(statement.batches).toEqual([[1, 2]]);
    await sleep(150);
    expect(statement.batches).toEqual([[1, 2], [3]]);
    statement.answerAll();
    expect(await third).toBe(30);
    // A full batch does not wait.
    const full = [4, 5, 6].map(call);
    await turn();
    await turn();
    expect(statement.batches).toEqual([[1, 2], [3], [4, 5, 6]]);
    statement.answerAll();
    expect(await Promise.all(full)).toEqual([40, 50, 60]);
  });
});
