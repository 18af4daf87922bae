import {
  GetEventSourceMappingCommand,
  type GetEventSourceMappingCommandOutput,
  UpdateEventSourceMappingCommand,
  type UpdateEventSourceMappingCommandOutput,
} from "@aws-sdk/client-lambda";

/** What the switch needs of a `LambdaClient`; a real client fits, and so does a test fake. */
export interface EventSourceMappingClient {
  readonly send: (
    command: UpdateEventSourceMappingCommand | GetEventSourceMappingCommand,
  ) => Promise<Pick<UpdateEventSourceMappingCommandOutput | GetEventSourceMappingCommandOutput, "State">>;
}

export interface EventSourceMappingSwitch {
  /** Disables the mapping and resolves once Lambda reports it `Disabled` (it stops polling). */
  readonly pause: (signal?: AbortSignal) => Promise<void>;
  /** Enables the mapping again. */
  readonly resume: () => Promise<void>;
}

export interface SwitchOptions {
  /** How long `pause` waits for `Disabled`. */
  readonly disableTimeoutMs?: number;
  readonly pollMs?: number;
  /** Tries of `resume` while a previous update is still in progress. */
  readonly resumeTries?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Lambda refuses an update while the mapping is still changing state. */
const isInUse = (error: unknown): boolean => error instanceof Error && error.name === "ResourceInUseException";

/** Pauses and resumes an SQS consumer by its event source mapping. */
export const eventSourceMappingSwitch = (lambda: EventSourceMappingClient, uuid: string, options: SwitchOptions = {}): EventSourceMappingSwitch => {
  const { disableTimeoutMs = 120_000, pollMs = 2_000, resumeTries = 30, sleep = defaultSleep, now = Date.now } = options;
  return {
    pause: async (signal) => {
      await lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: false }));
      const until = now() + disableTimeoutMs;
      for (;;) {
        const { State } = await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
        if (State === "Disabled") return;
        if (now() >= until) throw new Error(`event source mapping ${uuid} is still ${State ?? "in an unknown state"} after ${disableTimeoutMs} ms`);
        signal?.throwIfAborted();
        await sleep(pollMs);
      }
    },
    resume: async () => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: true }));
          return;
        } catch (error) {
          if (!isInUse(error) || attempt >= resumeTries) throw error;
          await sleep(pollMs);
        }
      }
    },
  };
};
