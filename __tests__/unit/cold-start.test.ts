import type { APIGatewayProxyResult } from "aws-lambda";
import type * as PlaceOrder from "../../handlers/place-order";
import type * as ProjectClientView from "../../handlers/project-client-view";
import type * as Database from "../../handlers/support/database";
import { postOrder } from "../support/api-gateway";
import { lambdaContext, sqsEvent, sqsRecord } from "../support/sqs";

/**
 * Each Lambda entry point reads its configuration once, at cold start, and a bad one fails
 * loudly with what is wrong: inside Lambda the module's load throws (Lambda reports an init
 * error), elsewhere the first invocation throws; it never becomes a 500 per request.
 */

const VARIABLES = [
  "AWS_LAMBDA_FUNCTION_NAME",
  "DATABASE_URL",
  "DB_HOST",
  "DB_SECRET_ARN",
  "DB_POOL_MAX",
  "REDIS_URL",
  "REDIS_HOST",
  "REDIS_AUTH_SECRET_ARN",
  "REDIS_PORT",
  "QUARANTINE_QUEUE_URL",
  "PROJECTION_MAPPING_UUID",
] as const;

type Env = Partial<Record<(typeof VARIABLES)[number], string>>;

let saved: Env;
beforeEach(() => {
  saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of VARIABLES) delete process.env[name];
});
afterEach(() => {
  for (const name of VARIABLES) {
    const value = saved[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  jest.resetModules();
});

const setEnv = (env: Env) => Object.assign(process.env, env);

/** A fresh copy of a module, as a new container loads it. */
const load = <M extends object = object>(path: string): M => {
  let loaded: M | undefined;
  jest.isolateModules(() => {
    loaded = jest.requireActual<M>(path);
  });
  return loaded as M;
};

const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: "cqrs-test-fn" };

describe("inside Lambda, a bad configuration fails the module's load", () => {
  it.each<readonly [entry: string, env: Env, message: RegExp]>([
    ["place-order", { DATABASE_URL: "postgres://db/x", DB_POOL_MAX: "abc" }, /DB_POOL_MAX is not a whole number of connections from 1: "abc"/],
    ["place-order", {}, /database configuration missing: set DATABASE_URL, or DB_HOST and DB_SECRET_ARN/],
    ["purge-outbox", { DATABASE_URL: "postgres://db/x", DB_POOL_MAX: "0" }, /DB_POOL_MAX/],
    ["migrate", { DB_HOST: "h", DB_SECRET_ARN: "s", DB_POOL_MAX: "1.5" }, /DB_POOL_MAX/],
    ["reproject", { DATABASE_URL: "postgres://db/x", REDIS_URL: "redis://r" }, /PROJECTION_MAPPING_UUID is not set/],
    ["get-client", { REDIS_HOST: "r" }, /REDIS_AUTH_SECRET_ARN/],
    ["project-client-view", { REDIS_HOST: "r", REDIS_AUTH_SECRET_ARN: "a", REDIS_PORT: "x" }, /REDIS_PORT is not a port/],
    ["enrich-outbox", {}, /QUARANTINE_QUEUE_URL is not set/],
  ])("%s with %p", (entry, env, message) => {
    setEnv({ ...LAMBDA, ...env });
    expect(() => load(`../../handlers/${entry}`)).toThrow(message);
  });

  it("and a good one loads", () => {
    setEnv({ ...LAMBDA, DATABASE_URL: "postgres://db/x", DB_POOL_MAX: "3" });
    expect(() => load("../../handlers/place-order")).not.toThrow();
  });
});

describe("outside Lambda (the local runtime, tests)", () => {
  type PlaceOrderModule = typeof PlaceOrder;

  it("importing a handler module reads nothing, and the first invocation throws instead of answering 500", async () => {
    setEnv({ DATABASE_URL: "postgres://db/x", DB_POOL_MAX: "abc" });
    const { handler } = load<PlaceOrderModule>("../../handlers/place-order");
    const request = postOrder({ id_client: 1, products: [{ id_product: 1, quantity: 1 }] });
    await expect(handler(request)).rejects.toThrow(/DB_POOL_MAX is not a whole number of connections from 1: "abc"/);
  });

  it("an SQS consumer with a bad configuration fails the invocation, not each message", async () => {
    setEnv({ REDIS_HOST: "r" });
    const { handler } = load<typeof ProjectClientView>("../../handlers/project-client-view");
    await expect(handler(sqsEvent([sqsRecord("{}")]), lambdaContext())).rejects.toThrow(/REDIS_AUTH_SECRET_ARN/);
  });

  it("a database that cannot be reached is still a 503 per request", async () => {
    setEnv({ DATABASE_URL: "postgres://nobody@127.0.0.1:1/x" });
    let handler: PlaceOrderModule["handler"] | undefined;
    let sharedDb: (() => Promise<{ destroy: () => Promise<void> }>) | undefined;
    jest.isolateModules(() => {
      ({ handler } = jest.requireActual<PlaceOrderModule>("../../handlers/place-order"));
      ({ sharedDb } = jest.requireActual<typeof Database>("../../handlers/support/database"));
    });
    try {
      const response = (await handler?.(postOrder({ id_client: 1, products: [{ id_product: 1, quantity: 1 }] }))) as APIGatewayProxyResult;
      expect(response.statusCode).toBe(503);
      expect(JSON.parse(response.body)).toEqual(expect.objectContaining({ code: "Unavailable" }));
    } finally {
      await (await sharedDb?.())?.destroy();
    }
  });
});

describe("the configuration is read once", () => {
  type DatabaseModule = typeof Database;

  /** support/database with the pool factory recorded instead of connecting. */
  const loadDatabase = () => {
    const created: Array<{ readonly max?: number; readonly applicationName?: string }> = [];
    let module: DatabaseModule | undefined;
    jest.isolateModules(() => {
      jest.doMock("../../adapters/postgres/pool", () => ({
        createPool: (options: { max?: number }) => {
          created.push(options);
          return { options };
        },
        createDb: (pool: unknown) => ({ pool }),
      }));
      module = jest.requireActual<DatabaseModule>("../../handlers/support/database");
    });
    return { created, ...(module as DatabaseModule) };
  };

  it("the pool gets DB_POOL_MAX as first read; later changes of the environment change nothing", async () => {
    setEnv({ DATABASE_URL: "postgres://db/x", DB_POOL_MAX: "3", AWS_LAMBDA_FUNCTION_NAME: "cqrs-dev-place-order" });
    const { created, sharedDb, databaseSettings } = loadDatabase();
    expect(databaseSettings()).toEqual({ connection: { kind: "url", url: "postgres://db/x" }, poolMax: 3, applicationName: "cqrs-dev-place-order" });
    setEnv({ DB_POOL_MAX: "abc", DATABASE_URL: "postgres://elsewhere/y" });
    const first = await sharedDb();
    expect(await sharedDb()).toBe(first);
    expect(created).toEqual([expect.objectContaining({ connectionString: "postgres://db/x", max: 3, applicationName: "cqrs-dev-place-order" })]);
    expect(databaseSettings().poolMax).toBe(3);
  });

  it("a bad one stays bad, with the same error, even once the environment is fixed", () => {
    setEnv({ DATABASE_URL: "postgres://db/x", DB_POOL_MAX: "abc" });
    const { databaseSettings, created } = loadDatabase();
    let firstError: unknown;
    try {
      databaseSettings();
    } catch (error) {
      firstError = error;
    }
    expect(firstError).toEqual(expect.objectContaining({ message: expect.stringContaining('DB_POOL_MAX is not a whole number of connections from 1: "abc"') }));
    setEnv({ DB_POOL_MAX: "2" });
    expect(() => databaseSettings()).toThrow(firstError as Error);
    expect(created).toEqual([]);
  });
});
