/**
 * What the local runtime may tell the replication slot. The slot is the only durable log
 * here, so its confirmed position may pass a transaction only once every record of it, and
 * of every transaction before it, was fully handled downstream: projected and purged, or
 * written to the durable dead-letter store. Work completes out of order (two queues,
 * retries), so this keeps a low-water mark.
 */

/** A WAL position as a 64-bit number. */
export type Lsn = bigint;

export const parseLsn = (text: string): Lsn => {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (match === null) throw new Error(`not an LSN: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
};

export const formatLsn = (lsn: Lsn): string =>
  `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;

/**
 * A reference-counted piece of work. Its creator holds it until it has handed everything
 * on (`close`); each downstream copy takes a hold of its own (`hold`) and releases it once
 * handled. The ticket is done when the last hold goes. Releases are idempotent, so a
 * message settled twice (a redelivery racing its first copy) cannot finish it early.
 */
export class Ticket {
  private holds = 1;
  private closed = false;
  private readonly done: Promise<void>;
  private markDone: () => void = () => undefined;

  constructor(private readonly onDone: () => void = () => undefined) {
    this.done = new Promise((resolve) => (this.markDone = resolve));
  }

  hold(): () => void {
    this.holds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.drop();
    };
  }

  /** Releases the creator's hold. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.drop();
  }

  get isDone(): boolean {
    return this.holds === 0;
  }

  whenDone(): Promise<void> {
    return this.done;
  }

  private drop(): void {
    this.holds -= 1;
    if (this.holds === 0) {
      this.onDone();
      this.markDone();
    }
  }
}

interface Pending {
  readonly end: Lsn;
  readonly ticket: Ticket;
  readonly receivedAt: number;
}

/**
 * Commits in flight, by commit end position. `confirmable()` is the highest position the
 * slot may be told: the end of the last transaction of the longest finished prefix, or,
 * when nothing at all is pending and no transaction is half received, the server's own
 * reported WAL end, so an idle outbox in a busy database holds no WAL.
 */
export class CommitTracker {
  /** Commits in end order; those before `head` are finished and confirmed. */
  private pending: Pending[] = [];
  private head = 0;
  private confirmed: Lsn;
  private serverEnd: Lsn = 0n;
  private openTransaction = false;

  constructor(
    start: Lsn = 0n,
    private readonly onAdvance: (confirmed: Lsn) => void = () => undefined,
  ) {
    this.confirmed = start;
  }

  /** A transaction that committed at `end` was received; done when its ticket is. */
  track(end: Lsn): Ticket {
    const ticket = new Ticket(() => this.settle());
    const entry = { end, ticket, receivedAt: Date.now() };
    // Commits arrive in order, except the replay after a reconnect: keep the list sorted.
    let index = this.pending.length;
    while (index > this.head && (this.pending[index - 1] as Pending).end > end) index -= 1;
    this.pending.splice(index, 0, entry);
    return ticket;
  }

  /** The tailer is between a BEGIN and its COMMIT: the server's WAL end must not be confirmed. */
  setOpenTransaction(open: boolean): void {
    this.openTransaction = open;
    if (!open) this.settle();
  }

  /** The server reported that it has sent everything up to `end`. */
  noteServerEnd(end: Lsn): void {
    if (end > this.serverEnd) this.serverEnd = end;
    this.settle();
  }

  /** Forget what the server said: after a reconnect it streams from the slot again. */
  resetServerEnd(): void {
    this.serverEnd = 0n;
    this.openTransaction = false;
  }

  confirmable(): Lsn {
    return this.confirmed;
  }

  pendingCount(): number {
    return this.pending.length - this.head;
  }

  /** How long the oldest unfinished transaction has waited: the delivery lag. */
  oldestPendingAgeMs(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (let i = this.head; i < this.pending.length; i++) {
      const { ticket, receivedAt } = this.pending[i] as Pending;
      if (!ticket.isDone && receivedAt < oldest) oldest = receivedAt;
    }
    return oldest === Number.POSITIVE_INFINITY ? 0 : Date.now() - oldest;
  }

  private settle(): void {
    const before = this.confirmed;
    while (this.head < this.pending.length && (this.pending[this.head] as Pending).ticket.isDone) {
      const { end } = this.pending[this.head] as Pending;
      if (end > this.confirmed) this.confirmed = end;
      this.head += 1;
    }
    // Drop the finished prefix now and then, not on every settle (that copy would cost O(n) each time).
    if (this.head === this.pending.length || (this.head > 1024 && this.head * 2 > this.pending.length)) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    if (this.pending.length === 0 && !this.openTransaction && this.serverEnd > this.confirmed) this.confirmed = this.serverEnd;
    if (this.confirmed !== before) this.onAdvance(this.confirmed);
  }
}
