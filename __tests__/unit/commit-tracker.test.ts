import fc from "fast-check";
import { CommitTracker, formatLsn, parseLsn } from "../../local/acknowledgement";

describe("the slot's low-water mark", () => {
  it("confirms a commit only when it and every commit before it are done, at its exact end", () => {
    const advances: bigint[] = [];
    const tracker = new CommitTracker(0n, (lsn) => advances.push(lsn));
    const a = tracker.track(100n);
    const b = tracker.track(200n);
    const c = tracker.track(300n);
    a.close();
    b.close();
    const projected = c.hold();
    c.close();
    expect(tracker.confirmable()).toBe(200n); // not 201: the next commit may start at 200
    projected();
    expect(tracker.confirmable()).toBe(300n);
    expect(advances).toEqual([100n, 200n, 300n]);
  });

  it("does not pass an unfinished transaction when later ones finish first", () => {
    const tracker = new CommitTracker();
    const first = tracker.track(10n);
    const held = first.hold();
    first.close();
    for (let end = 20n; end <= 50n; end += 10n) tracker.track(end).close();
    tracker.noteServerEnd(1_000n);
    expect(tracker.confirmable()).toBe(0n);
    held();
    // Everything done and nothing open: the server's WAL end is safe to confirm.
    expect(tracker.confirmable()).toBe(1_000n);
  });

  it("follows the server's WAL end when idle, but never inside a half-received transaction", () => {
    const tracker = new CommitTracker();
    tracker.noteServerEnd(500n);
    expect(tracker.confirmable()).toBe(500n);
    tracker.setOpenTransaction(true);
    tracker.noteServerEnd(900n);
    expect(tracker.confirmable()).toBe(500n);
    const commit = tracker.track(950n);
    tracker.setOpenTransaction(false);
    expect(tracker.confirmable()).toBe(500n);
    commit.close();
    expect(tracker.confirmable()).toBe(950n);
  });

  it("forgets the server's WAL end on reconnect", () => {
    const tracker = new CommitTracker();
    const pending = tracker.track(100n);
    tracker.noteServerEnd(800n);
    tracker.resetServerEnd();
    pending.close();
    expect(tracker.confirmable()).toBe(100n);
  });

  it("never moves backwards, whatever order replays and completions come in", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 1_000 }), fc.nat()), { minLength: 1, maxLength: 40 }), (commits) => {
        const tracker = new CommitTracker();
        const tickets = commits.map(([end]) => ({ end: BigInt(end), ticket: tracker.track(BigInt(end)) }));
        let last = 0n;
        const order = [...tickets].sort((x, y) => (commits[tickets.indexOf(x)]?.[1] ?? 0) - (commits[tickets.indexOf(y)]?.[1] ?? 0));
        for (const { ticket } of order) {
          ticket.close();
          const now = tracker.confirmable();
          expect(now).toBeGreaterThanOrEqual(last);
          // Never at or past a commit that is not done, unless another copy of that same
          // commit (a replay after a reconnect) was fully handled already.
          for (const other of tickets) {
            const handledCopy = tickets.some((t) => t.end === other.end && t.ticket.isDone);
            if (!other.ticket.isDone && !handledCopy) expect(now).toBeLessThan(other.end);
          }
          last = now;
        }
        expect(tracker.confirmable()).toBe(BigInt(Math.max(...commits.map(([end]) => end))));
      }),
    );
  });

  it("reads and writes LSNs as PostgreSQL prints them", () => {
    expect(parseLsn("16/B374D848")).toBe((0x16n << 32n) | 0xb374d848n);
    expect(formatLsn(parseLsn("0/154B3D0"))).toBe("0/154B3D0");
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (lsn) => expect(parseLsn(formatLsn(lsn))).toBe(lsn)));
    expect(() => parseLsn("nope")).toThrow(/not an LSN/);
  });
});
