import { errorResponse } from "../../handlers/support/http";
import { readModelUnavailable, unavailable } from "../../domain/errors";

const parsed = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;

describe("errorResponse for infrastructure failures", () => {
  it("answers 503 ReadModelUnavailable with Retry-After while the read model has no generation", () => {
    const response = errorResponse(readModelUnavailable(), "req-1");
    expect(response.statusCode).toBe(503);
    expect(response.headers).toEqual(expect.objectContaining({ "retry-after": "1", "content-type": "application/json; charset=utf-8" }));
    expect(parsed(response)).toEqual({ statusCode: 503, body: "The read model is being rebuilt; retry shortly", code: "ReadModelUnavailable" });
  });

  it.each([
    ["PostgreSQL refusing connections", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })],
    ["the pool timing out", new Error("timeout exceeded when trying to connect")],
    ["PostgreSQL shutting down", Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" })],
    ["Redis away", new Error("Connection is closed.")],
  ])("answers 503 Unavailable with Retry-After for %s", (_, cause) => {
    const response = errorResponse(unavailable("place order")(cause), "req-2");
    expect(response.statusCode).toBe(503);
    expect(response.headers).toEqual(expect.objectContaining({ "retry-after": "1" }));
    expect(parsed(response)).toEqual({ statusCode: 503, body: "Service unavailable; retry shortly", code: "Unavailable", requestId: "req-2" });
  });

  it("answers 500 InternalError, without Retry-After, for any other failure", () => {
    const response = errorResponse(unavailable("place order")(new Error("injected failure")), "req-3");
    expect(response.statusCode).toBe(500);
    expect(response.headers).not.toHaveProperty("retry-after");
    expect(parsed(response)).toEqual({ statusCode: 500, body: "Internal error", code: "InternalError", requestId: "req-3" });
    expect(response.body).not.toContain("injected");
  });
});
