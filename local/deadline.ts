/** What `within` answers when the work did not answer in time. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * `work`'s answer, or `TIMED_OUT` when it has none within `ms`. The timer goes as soon as the
 * work answers: a timer left to run out keeps the work and its answer alive until it fires.
 * For the local queue's 30 s visibility timeout that was every batch, its records and its
 * consumer's answer, so each outlived the young generation and every scavenge copied them.
 * The work itself is not stopped: it may still finish later.
 */
export const within = async <T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/** As `within`, rejecting when the work has no answer in time. */
export const withTimeout = async <T>(work: Promise<T>, ms: number): Promise<T> => {
  const answer = await within(work, ms);
  if (answer === TIMED_OUT) throw new Error(`no answer within ${ms} ms`);
  return answer;
};
