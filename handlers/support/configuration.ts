/**
 * Configuration is read once per container and checked before any request is served. A bad
 * one is a deployment error, not a request's: it must fail loudly with what is wrong, never
 * turn into a 500 (or a retried SQS message) on every request.
 */

/** A reading of the environment done at most once: its value, or its error, for the container's life. */
export const once = <A>(read: () => A): (() => A) => {
  let outcome: { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: unknown } | undefined;
  return () => {
    if (outcome === undefined) {
      try {
        outcome = { ok: true, value: read() };
      } catch (error) {
        outcome = { ok: false, error };
      }
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  };
};

/**
 * A Lambda entry point that reads its configuration first. Inside Lambda (the runtime sets
 * AWS_LAMBDA_FUNCTION_NAME) the readings run while the module loads, so a bad configuration
 * fails the init phase and Lambda reports an init error naming it. Elsewhere (the local
 * runtime and tests import handler modules for their factories, before any database exists)
 * they run at the first invocation. Either way a bad configuration throws out of the
 * handler, outside the request's own error handling.
 */
export const configuredEntry = <Args extends unknown[], R>(
  configuration: ReadonlyArray<() => unknown>,
  handler: (...args: Args) => Promise<R>,
  env: NodeJS.ProcessEnv = process.env,
): ((...args: Args) => Promise<R>) => {
  const check = (): void => {
    for (const read of configuration) read();
  };
  if (env.AWS_LAMBDA_FUNCTION_NAME !== undefined) check();
  return async (...args) => {
    check();
    return handler(...args);
  };
};
