import { TIMED_OUT, within, withTimeout } from "../../local/deadline";

describe("answers within a deadline", () => {
  afterEach(() => jest.useRealTimers());

  it("answers with the work's answer and leaves no timer behind, whatever the deadline", async () => {
    jest.useFakeTimers({ doNotFake: ["nextTick", "queueMicrotask", "setImmediate"] });
    await expect(within(Promise.resolve(7), 30_000)).resolves.toBe(7);
    await expect(withTimeout(Promise.resolve("up"), 30_000)).resolves.toBe("up");
    await expect(within(Promise.reject(new Error("down")), 30_000)).rejects.toThrow("down");
    expect(jest.getTimerCount()).toBe(0);
  });

  it("answers TIMED_OUT (or rejects, naming the deadline) when the work has no answer in time", async () => {
    const never = new Promise<number>(() => undefined);
    await expect(within(never, 20)).resolves.toBe(TIMED_OUT);
    await expect(withTimeout(never, 20)).rejects.toThrow("no answer within 20 ms");
  });
});
