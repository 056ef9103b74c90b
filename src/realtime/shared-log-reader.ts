import type { RoomEvent } from '../events/room-event.js';
import type { LogReader } from './session.js';

export interface SharedLogReaderOptions {
  /** How long a read stays reusable (ms). Short: it only has to span one wave of resumes. */
  ttlMs: number;
  /** Most events held over all rooms; the oldest reads go first. */
  maxEvents: number;
  now?: () => number;
}

interface Entry {
  /** The read returned every event of the room after `from`, up to its last one. */
  from: number;
  events: RoomEvent[];
  at: number;
}

/**
 * Shares reads of a room's log among the sessions that replay it at the same time. After a
 * reconnect wave, every member of a room asks for the same missed events within milliseconds; one
 * store read serves them all (concurrent asks wait for the read in flight), and since they get the
 * same event objects, each event is serialized once for all of them (see `eventFrameText`).
 *
 * Correct because a room's log only grows at its head and committed entries never change: a read
 * of the first k events after `from` holds every event in (from, k-th seq], and seqs commit in
 * order (the room row lock serializes writers). An ask is answered from a read only when the read
 * holds all `limit` events it wants; otherwise it goes to the store. Retention may prune an entry
 * that a read still holds, for at most `ttlMs`.
 */
export class SharedLogReader implements LogReader {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private held = 0;
  private readonly now: () => number;

  constructor(
    private readonly store: LogReader,
    private readonly opts: SharedLogReaderOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  async after(roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]> {
    const pending = this.inFlight.get(roomId);
    if (pending) await pending.catch(() => {});
    const hit = this.lookup(roomId, afterSeq, limit);
    if (hit) return hit;
    let events: RoomEvent[] = [];
    const read = this.store.after(roomId, afterSeq, limit).then((got) => {
      events = got;
      this.remember(roomId, afterSeq, got);
    });
    // Only the first read of a room is waited on by others; a later one simply replaces the entry.
    if (!this.inFlight.has(roomId)) {
      this.inFlight.set(roomId, read);
      void read
        .catch(() => {})
        .finally(() => {
          if (this.inFlight.get(roomId) === read) this.inFlight.delete(roomId);
        });
    }
    await read;
    return events;
  }

  /** Events held: for tests and metrics. */
  get size(): number {
    return this.held;
  }

  private lookup(roomId: string, afterSeq: number, limit: number): RoomEvent[] | undefined {
    const e = this.entries.get(roomId);
    if (!e) return undefined;
    if (this.now() - e.at > this.opts.ttlMs) {
      this.drop(roomId, e);
      return undefined;
    }
    if (afterSeq < e.from || limit <= 0) return undefined;
    // Events are in seq order: find the first one past afterSeq.
    let lo = 0;
    let hi = e.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (e.events[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    const out = e.events.slice(lo, lo + limit);
    return out.length === limit ? out : undefined;
  }

  private remember(roomId: string, from: number, events: RoomEvent[]): void {
    if (events.length === 0 || events.length > this.opts.maxEvents) return;
    const old = this.entries.get(roomId);
    if (old) this.drop(roomId, old);
    this.entries.set(roomId, { from, events, at: this.now() });
    this.held += events.length;
    // Maps iterate in insertion order: the first entries are the oldest reads.
    for (const [id, entry] of this.entries) {
      if (this.held <= this.opts.maxEvents) break;
      this.drop(id, entry);
    }
  }

  private drop(roomId: string, e: Entry): void {
    if (this.entries.get(roomId) !== e) return;
    this.entries.delete(roomId);
    this.held -= e.events.length;
  }
}
