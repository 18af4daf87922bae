/**
 * Whether a failure means "a dependency could not be reached" (retrying later may succeed,
 * so an HTTP caller gets 503 and Retry-After) rather than a bug or a broken invariant
 * (500). Errors are recognised by their stable codes and the drivers' own messages, and
 * the search follows `cause` chains and AggregateError's `errors` (Node's happy-eyeballs
 * connect gives one error per address tried).
 */

/** Node's errno codes for a peer that is down, unreachable, unresolvable or gone mid-call. */
const NODE_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * PostgreSQL SQLSTATEs outside class 08 (connection exception) that still mean "come back
 * later": the server is shutting down (57P01 admin, 57P02 crash) or starting up (57P03),
 * or has no connection slot free (53300).
 */
const PG_CODES: ReadonlySet<string> = new Set(["57P01", "57P02", "57P03", "53300"]);
const PG_CONNECTION_CLASS = /^08[0-9A-Z]{3}$/;

/** Drivers' messages for failures that carry no code. */
const MESSAGE_PREFIXES: ReadonlyArray<string> = [
  // pg: the socket closed ("... unexpectedly", "... due to connection timeout").
  "Connection terminated",
  // pg-pool: no connection within connectionTimeoutMillis.
  "timeout exceeded when trying to connect",
  // pg: a query on a client whose connection already failed.
  "Client has encountered a connection error",
  // ioredis: commandTimeout elapsed; the connection was closed before or during a command.
  "Command timed out",
  "Connection is closed",
];

/** ioredis: the command was retried maxRetriesPerRequest times while reconnecting. */
const ERROR_NAMES: ReadonlySet<string> = new Set(["MaxRetriesPerRequestError"]);

/** Deeper than any real chain; bounds a pathological (or cyclic) one. */
const MAX_DEPTH = 16;

const matchesItself = (error: object): boolean => {
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === "string" && (NODE_CODES.has(code) || PG_CODES.has(code) || PG_CONNECTION_CLASS.test(code))) return true;
  if (typeof name === "string" && ERROR_NAMES.has(name)) return true;
  return typeof message === "string" && MESSAGE_PREFIXES.some((prefix) => message.startsWith(prefix));
};

export const isConnectivityError = (cause: unknown): boolean => {
  const seen = new Set<object>();
  const visit = (value: unknown, depth: number): boolean => {
    if (typeof value !== "object" || value === null || depth > MAX_DEPTH || seen.has(value)) return false;
    seen.add(value);
    if (matchesItself(value)) return true;
    const { cause: inner, errors } = value as { cause?: unknown; errors?: unknown };
    if (Array.isArray(errors) && errors.some((error) => visit(error, depth + 1))) return true;
    return visit(inner, depth + 1);
  };
  return visit(cause, 0);
};
