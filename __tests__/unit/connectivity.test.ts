import { isConnectivityError } from "../../adapters/connectivity";

const withCode = (code: string, message = `failed: ${code}`) => Object.assign(new Error(message), { code });

class MaxRetriesPerRequestError extends Error {
  override name = "MaxRetriesPerRequestError";
}

describe("isConnectivityError", () => {
  it.each(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"])(
    "knows Node's %s",
    (code) => expect(isConnectivityError(withCode(code))).toBe(true),
  );

  it.each(["08000", "08003", "08006", "08001", "08004", "08P01", "57P01", "57P02", "57P03", "53300"])(
    "knows PostgreSQL's SQLSTATE %s",
    (code) => expect(isConnectivityError(withCode(code, "server said no"))).toBe(true),
  );

  it.each([
    "Connection terminated unexpectedly",
    "Connection terminated due to connection timeout",
    "Connection terminated",
    "timeout exceeded when trying to connect",
    "Client has encountered a connection error and is not queryable",
    "Command timed out",
    "Connection is closed.",
  ])("knows the driver message %p", (message) => expect(isConnectivityError(new Error(message))).toBe(true));

  it("knows ioredis's MaxRetriesPerRequestError by its name", () => {
    expect(isConnectivityError(new MaxRetriesPerRequestError("Reached the max retries per request limit (which is 2)."))).toBe(true);
  });

  it("follows cause chains and AggregateError's errors", () => {
    expect(isConnectivityError(new Error("outer", { cause: new Error("middle", { cause: withCode("ECONNRESET") }) }))).toBe(true);
    // Node's connect to "localhost" tries each address and gives one error per address.
    const aggregate = new AggregateError([new Error("first try"), withCode("ECONNREFUSED")], "");
    expect(isConnectivityError(aggregate)).toBe(true);
    expect(isConnectivityError(new Error("wrapped", { cause: aggregate }))).toBe(true);
    // Plain objects too: a cause does not have to be an Error.
    expect(isConnectivityError({ cause: { code: "ETIMEDOUT" } })).toBe(true);
  });

  it.each([
    ["a plain Error", new Error("injected failure after the order insert")],
    ["a unique violation", withCode("23505", "duplicate key value violates unique constraint")],
    ["a serialization failure", withCode("40001", "could not serialize access")],
    ["a syntax error", withCode("42601", "syntax error at or near")],
    ["a Redis script error", new Error("ERR corrupt client view client:{9}")],
    ["another errno", withCode("ENOENT")],
    ["a message that merely mentions a connection", new Error("the Connection terminated message is not at the start")],
    ["a string", "ECONNREFUSED"],
    ["undefined", undefined],
    ["null", null],
    ["an AggregateError of logic errors", new AggregateError([new Error("a"), new TypeError("b")])],
  ])("says no to %s", (_, cause) => expect(isConnectivityError(cause)).toBe(false));

  it("ends on a cyclic cause chain", () => {
    const a = new Error("a") as Error & { cause?: unknown };
    const b = new Error("b", { cause: a });
    a.cause = b;
    expect(isConnectivityError(a)).toBe(false);
    a.cause = withCode("EPIPE");
    expect(isConnectivityError(b)).toBe(true);
  });
});
