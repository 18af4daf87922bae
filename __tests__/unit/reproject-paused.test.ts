import { GetEventSourceMappingCommand, type UpdateEventSourceMappingCommand } from "@aws-sdk/client-lambda";
import type { Kysely } from "kysely";
import { type EventSourceMappingClient, eventSourceMappingSwitch } from "../../adapters/aws/event-source-mapping";
import type { Database } from "../../adapters/postgres/schema";
import { type PausableConsumer, rebuildWithConsumerPaused, reprojectAll } from "../../handlers/support/reproject-views";

/** A consumer that writes what happens to it into `steps`. */
const recordingConsumer = (steps: string[], overrides: Partial<PausableConsumer> = {}): PausableConsumer => ({
  pause: async () => {
    steps.push("pause");
  },
  resume: async () => {
    steps.push("resume");
  },
  ...overrides,
});

describe("rebuildWithConsumerPaused", () => {
  it("pauses the consumer, rebuilds, then resumes it, and returns what the rebuild returned", async () => {
    const steps: string[] = [];
    const result = await rebuildWithConsumerPaused({
      consumer: recordingConsumer(steps),
      rebuild: async () => {
        steps.push("rebuild");
        return { clients: 3 };
      },
      deadlineMs: 10_000,
    });
    expect(result).toEqual({ clients: 3 });
    expect(steps).toEqual(["pause", "rebuild", "resume"]);
  });

  it("resumes the consumer after a failed rebuild, and fails with the rebuild's error", async () => {
    const steps: string[] = [];
    const failure = new Error("reproject failed after 500 clients");
    await expect(
      rebuildWithConsumerPaused({
        consumer: recordingConsumer(steps),
        rebuild: async () => {
          steps.push("rebuild");
          throw failure;
        },
        deadlineMs: 10_000,
      }),
    ).rejects.toBe(failure);
    expect(steps).toEqual(["pause", "rebuild", "resume"]);
  });

  it("does not rebuild when the pause fails, and still resumes (the mapping may be half disabled)", async () => {
    const steps: string[] = [];
    const failure = new Error("event source mapping is still Disabling");
    await expect(
      rebuildWithConsumerPaused({
        consumer: recordingConsumer(steps, {
          pause: async () => {
            steps.push("pause");
            throw failure;
          },
        }),
        rebuild: async () => steps.push("rebuild"),
        deadlineMs: 10_000,
      }),
    ).rejects.toBe(failure);
    expect(steps).toEqual(["pause", "resume"]);
  });

  it("abandons a rebuild past the deadline: tells it through its signal, resumes, and fails", async () => {
    const steps: string[] = [];
    let signal: AbortSignal | undefined;
    await expect(
      rebuildWithConsumerPaused({
        consumer: recordingConsumer(steps),
        rebuild: (given) => {
          signal = given;
          steps.push("rebuild");
          return new Promise(() => undefined); // a query that never answers
        },
        deadlineMs: 20,
      }),
    ).rejects.toThrow(/did not finish within/);
    expect(steps).toEqual(["pause", "rebuild", "resume"]);
    expect(signal?.aborted).toBe(true);
  });

  it("fails when the consumer cannot be resumed, with both errors after a failed rebuild", async () => {
    const resumeFailure = new Error("AccessDeniedException");
    const consumer = recordingConsumer([], {
      resume: async () => {
        throw resumeFailure;
      },
    });
    await expect(rebuildWithConsumerPaused({ consumer, rebuild: async () => "done", deadlineMs: 10_000 })).rejects.toThrow(
      /could not resume the projection consumer/,
    );
    const rebuildFailure = new Error("Redis away");
    const both = await rebuildWithConsumerPaused({
      consumer,
      rebuild: async () => {
        throw rebuildFailure;
      },
      deadlineMs: 10_000,
    }).catch((error: unknown) => error);
    expect(both).toBeInstanceOf(AggregateError);
    expect((both as AggregateError).errors).toEqual([rebuildFailure, resumeFailure]);
  });
});

describe("reprojectAll with an aborted signal", () => {
  it("writes nothing, not even the generation's deletion", async () => {
    const controller = new AbortController();
    controller.abort(new Error("deadline"));
    const touched: string[] = [];
    const views = {
      beginRebuild: () => () => {
        touched.push("beginRebuild");
        return Promise.reject(new Error("unreachable"));
      },
      replace: () => () => Promise.reject(new Error("unreachable")),
      completeRebuild: () => () => Promise.reject(new Error("unreachable")),
    };
    await expect(reprojectAll({ db: {} as Kysely<Database>, views, signal: controller.signal })).rejects.toThrow(/reproject stopped after 0 clients/);
    expect(touched).toEqual([]);
  });
});

describe("event source mapping switch", () => {
  /** A Lambda client answering GetEventSourceMapping with the given states in turn. */
  const fakeLambda = (states: ReadonlyArray<string>, updateFailures: ReadonlyArray<Error> = []) => {
    const sent: Array<{ readonly command: string; readonly input: unknown }> = [];
    const pendingStates = [...states];
    const pendingFailures = [...updateFailures];
    const client: EventSourceMappingClient = {
      send: async (command) => {
        sent.push({ command: command.constructor.name, input: command.input });
        if (command instanceof GetEventSourceMappingCommand) return { State: pendingStates.shift() };
        const failure = pendingFailures.shift();
        if (failure !== undefined) throw failure;
        return { State: (command as UpdateEventSourceMappingCommand).input.Enabled === true ? "Enabling" : "Disabling" };
      },
    };
    return { client, sent };
  };
  const instant = { sleep: async () => undefined };

  it("pauses by disabling the mapping, and waits until Lambda reports it Disabled", async () => {
    const lambda = fakeLambda(["Disabling", "Disabling", "Disabled"]);
    await eventSourceMappingSwitch(lambda.client, "uuid-1", instant).pause();
    expect(lambda.sent).toEqual([
      { command: "UpdateEventSourceMappingCommand", input: { UUID: "uuid-1", Enabled: false } },
      { command: "GetEventSourceMappingCommand", input: { UUID: "uuid-1" } },
      { command: "GetEventSourceMappingCommand", input: { UUID: "uuid-1" } },
      { command: "GetEventSourceMappingCommand", input: { UUID: "uuid-1" } },
    ]);
  });

  it("gives up a pause when the mapping does not get to Disabled in time", async () => {
    let clock = 0;
    const lambda = fakeLambda(Array.from({ length: 100 }, () => "Disabling"));
    const mapping = eventSourceMappingSwitch(lambda.client, "uuid-1", { sleep: async (ms) => void (clock += ms), now: () => clock, pollMs: 1_000, disableTimeoutMs: 5_000 });
    await expect(mapping.pause()).rejects.toThrow("event source mapping uuid-1 is still Disabling after 5000 ms");
  });

  it("resumes by enabling the mapping, trying again while an earlier update is in progress", async () => {
    const inUse = Object.assign(new Error("in use"), { name: "ResourceInUseException" });
    const lambda = fakeLambda([], [inUse, inUse]);
    await eventSourceMappingSwitch(lambda.client, "uuid-1", instant).resume();
    expect(lambda.sent).toEqual(Array.from({ length: 3 }, () => ({ command: "UpdateEventSourceMappingCommand", input: { UUID: "uuid-1", Enabled: true } })));

    const denied = Object.assign(new Error("denied"), { name: "AccessDeniedException" });
    await expect(eventSourceMappingSwitch(fakeLambda([], [denied]).client, "uuid-1", instant).resume()).rejects.toBe(denied);
  });
});
