/** The parts of a health answer that each come from a probe with a short time budget. */
interface Probed {
  readonly slot: { readonly retainedWalBytes: number | null };
  readonly queues: Readonly<Record<string, { readonly deadLetters: number | null }>>;
  readonly quarantine: { readonly size: number | null };
}

/**
 * True when every probe of a health answer answered: a probe slower than its budget (a
 * loaded machine, not a fault) gives null, "unknown". Tests ask again until it is true, then
 * assert the values, so a real fault still fails them.
 */
export const everyProbeAnswered = (health: Probed): boolean =>
  health.slot.retainedWalBytes !== null && health.quarantine.size !== null && Object.values(health.queues).every((q) => q.deadLetters !== null);
