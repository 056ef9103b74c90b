import type { Principal } from '../auth/principal.js';
import { eventFrameText, type RoomEvent } from '../events/room-event.js';
import { CloseCodes } from './protocol.js';
import { encodeSyncToken } from './sync-token.js';
import type { Transport } from './transport.js';

export interface LogReader {
  /** Events after `afterSeq`, oldest first, at most `limit`. */
  after(roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]>;
}

/** Where a room stands for a user: its newest seq and how far the user has read. */
export interface RoomHead {
  lastSeq: number;
  readSeq: number;
}
export type Heads = ReadonlyMap<string, RoomHead>;

export interface SessionOptions {
  /** Most events replayed (on resume) or repaired (on a gap) per room before the client is told to page. */
  replayPerRoom: number;
  /** Most events replayed by one resume across all rooms. */
  replayTotal: number;
  /** Bytes queued on the connection after which it is closed as a slow consumer. */
  maxBufferedBytes: number;
}

type Delivery = { event: RoomEvent; frame: string };

interface RoomState {
  /** Highest seq this connection has delivered (or the client said it has). */
  cursor: number;
  /** live: in order as events come; replaying: the store is being read, live events wait;
   *  behind: further back than we replay: the client pages through REST and resumes this room. */
  mode: 'live' | 'replaying' | 'behind';
  pending: Delivery[];
  /** Counts replays of the room; one that waited for the client gives way if a newer one started. */
  replays?: number;
}

export interface ResumeSummary {
  roomId: string;
  fromSeq: number;
  toSeq: number;
  lastSeq: number;
  complete: boolean;
}

let nextId = 1;

/**
 * One client connection's view of the room logs. It keeps a cursor per room and delivers each room's
 * events exactly once and in seq order: duplicates are dropped, gaps are filled from the store, and a
 * client too far behind is told so (`room_behind`) instead of being silently skipped ahead.
 */
export class Session {
  readonly id = `s${nextId++}`;
  private readonly rooms = new Map<string, RoomState>();
  /** Until the starting cursors are known, live events wait here. */
  private early: Delivery[] | undefined = [];
  /** Rooms joined before the start, with the seq to follow them from. */
  private earlyTracks = new Map<string, number>();
  private closed = false;

  constructor(
    readonly principal: Principal,
    private readonly transport: Transport,
    private readonly log: LogReader,
    private readonly opts: SessionOptions,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  get userId(): string {
    return this.principal.userId;
  }

  /** Current cursors, as the client would resume from them. */
  cursors(): Map<string, number> {
    return new Map([...this.rooms].map(([id, st]) => [id, st.cursor]));
  }

  /** Sends a non-log frame (acks, errors, ephemeral events). */
  sendFrame(frame: string): void {
    if (this.closed) return;
    if (this.transport.bufferedAmount() > this.opts.maxBufferedBytes) {
      this.close(CloseCodes.slowConsumer.code, CloseCodes.slowConsumer.reason);
      return;
    }
    this.transport.send(frame);
  }

  sendJson(frame: Record<string, unknown>): void {
    this.sendFrame(JSON.stringify(frame));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.early = undefined;
    this.rooms.clear();
    this.transport.close(code, reason);
  }

  /**
   * Sets the starting cursors and goes live. Without `cursors` (a client that never resumes) every
   * room starts at its head. With them (a resume), each named room starts at the client's seq and
   * every other room at the user's read position, so rooms joined while offline replay from the join.
   * Missed events are replayed from the store, bounded per room and in total.
   */
  async start(heads: Heads, cursors?: Record<string, number>): Promise<ResumeSummary[]> {
    const summaries: ResumeSummary[] = [];
    let budget = this.opts.replayTotal;
    const toReplay: [string, number, number][] = [];
    for (const [roomId, { lastSeq: head, readSeq }] of heads) {
      const from = Math.min(cursors ? (cursors[roomId] ?? readSeq) : head, head);
      const st: RoomState = { cursor: from, mode: from < head ? 'replaying' : 'live', pending: [] };
      this.rooms.set(roomId, st);
      if (from < head) toReplay.push([roomId, from, head]);
      else summaries.push({ roomId, fromSeq: from, toSeq: from, lastSeq: head, complete: true });
    }
    for (const [roomId, fromSeq] of this.earlyTracks) {
      if (!this.rooms.has(roomId)) this.rooms.set(roomId, { cursor: fromSeq, mode: 'live', pending: [] });
    }
    this.earlyTracks.clear();
    // Live events that arrived before the cursors were known now go through the normal path.
    const early = this.early ?? [];
    this.early = undefined;
    for (const d of early) this.deliver(d.event, d.frame);

    for (const [roomId, from, head] of toReplay) {
      if (this.closed) break;
      const limit = Math.min(this.opts.replayPerRoom, Math.max(budget, 0));
      summaries.push(await this.replay(roomId, from, head, limit));
      budget -= summaries.at(-1)!.toSeq - from;
    }
    return summaries;
  }

  /** A later `resume` for some rooms (e.g. after paging a `behind` room through REST). */
  async resumeRooms(
    cursors: Record<string, number>,
    loadHeads: () => Promise<Heads>,
  ): Promise<ResumeSummary[]> {
    // A `behind` room drops live events. From here on the named rooms queue them instead, so nothing
    // committed while the heads are read, or while another named room replays, is lost.
    const held = new Set<string>();
    for (const roomId of Object.keys(cursors)) {
      const st = this.rooms.get(roomId);
      if (st?.mode === 'behind') {
        st.mode = 'replaying';
        held.add(roomId);
      }
    }
    const heads = await loadHeads();
    const out: ResumeSummary[] = [];
    let budget = this.opts.replayTotal;
    for (const [roomId, clientSeq] of Object.entries(cursors)) {
      const head = heads.get(roomId)?.lastSeq;
      if (head === undefined || this.closed) {
        // not a member (any more): a held room goes back to dropping
        const st = this.rooms.get(roomId);
        if (st && held.has(roomId) && st.mode === 'replaying') {
          st.mode = 'behind';
          st.pending = [];
        }
        continue;
      }
      const st = this.rooms.get(roomId) ?? { cursor: 0, mode: 'live' as const, pending: [] };
      this.rooms.set(roomId, st);
      st.cursor = Math.min(clientSeq, head);
      st.mode = 'replaying';
      const limit = Math.min(this.opts.replayPerRoom, Math.max(budget, 0));
      out.push(await this.replay(roomId, st.cursor, head, limit));
      budget -= out.at(-1)!.toSeq - out.at(-1)!.fromSeq;
    }
    return out;
  }

  /** Replays every live room that is behind the given heads (after the bus lost messages). */
  catchUp(heads: Heads): void {
    if (this.early || this.closed) return;
    for (const [roomId, st] of this.rooms) {
      const head = heads.get(roomId)?.lastSeq;
      if (head === undefined || st.mode !== 'live' || head <= st.cursor) continue;
      st.mode = 'replaying';
      void this.replay(roomId, st.cursor, head, this.opts.replayPerRoom);
    }
  }

  /** The user joined a room: follow it from just before the join event. */
  trackRoom(roomId: string, fromSeq: number): void {
    if (this.early) {
      if (!this.earlyTracks.has(roomId)) this.earlyTracks.set(roomId, fromSeq);
    } else if (!this.rooms.has(roomId)) {
      this.rooms.set(roomId, { cursor: fromSeq, mode: 'live', pending: [] });
    }
  }

  untrackRoom(roomId: string): void {
    this.rooms.delete(roomId);
  }

  /** A committed event of a room the user is in, with its frame serialized once for all sessions. */
  deliver(event: RoomEvent, frame: string): void {
    if (this.closed) return;
    if (this.early) {
      this.early.push({ event, frame });
      return;
    }
    const st = this.rooms.get(event.roomId);
    if (!st || event.seq <= st.cursor || st.mode === 'behind') return;
    st.pending.push({ event, frame });
    if (st.mode === 'live') this.drain(event.roomId, st);
  }

  private drain(roomId: string, st: RoomState): void {
    if (st.pending.length > 1) st.pending.sort((a, b) => a.event.seq - b.event.seq);
    while (st.pending.length > 0 && !this.closed) {
      const next = st.pending[0]!;
      if (next.event.seq <= st.cursor) {
        st.pending.shift();
      } else if (next.event.seq === st.cursor + 1) {
        st.pending.shift();
        this.emit(next);
        st.cursor = next.event.seq;
      } else {
        // A seq is missing on the live path (lost on the bus, or published out of order): fetch it.
        st.mode = 'replaying';
        void this.replay(roomId, st.cursor, next.event.seq - 1, this.opts.replayPerRoom);
        return;
      }
    }
  }

  /** Delivers (from, to] from the store, then whatever queued meanwhile; bounded by `limit`. */
  private async replay(roomId: string, from: number, to: number, limit: number): Promise<ResumeSummary> {
    const st = this.rooms.get(roomId);
    if (!st) return { roomId, fromSeq: from, toSeq: from, lastSeq: to, complete: true };
    st.replays = (st.replays ?? 0) + 1;
    const generation = st.replays;
    if (to - from > limit) {
      st.mode = 'behind';
      st.pending = [];
      this.sendJson({ type: 'room_behind', roomId, afterSeq: from, lastSeq: to });
      return { roomId, fromSeq: from, toSeq: from, lastSeq: to, complete: false };
    }
    let events: RoomEvent[];
    try {
      events = await this.log.after(roomId, from, to - from);
    } catch {
      this.close(CloseCodes.goingAway.code, 'store unavailable; resume later');
      return { roomId, fromSeq: from, toSeq: from, lastSeq: to, complete: false };
    }
    if (this.closed || this.rooms.get(roomId) !== st)
      return { roomId, fromSeq: from, toSeq: from, lastSeq: to, complete: false };
    for (const e of events) {
      if (e.seq <= st.cursor) continue;
      if (this.transport.drained && this.transport.bufferedAmount() > this.opts.maxBufferedBytes / 2) {
        // Sent in one go, a large backlog would overfill the buffer and close a healthy client.
        await this.transport.drained();
        if (this.closed || this.rooms.get(roomId) !== st || st.replays !== generation)
          return { roomId, fromSeq: from, toSeq: st.cursor, lastSeq: to, complete: false };
        if (e.seq <= st.cursor) continue;
      }
      // A jump inside the store means those seqs were pruned (retention): nothing more to wait for.
      this.emit({ event: e, frame: eventFrameText(e) });
      st.cursor = e.seq;
    }
    if (st.cursor < to && events.length === 0) {
      // The missing seqs are not readable yet or were pruned: skip to what we hold rather than loop.
      const firstPending = st.pending[0]?.event.seq;
      if (firstPending !== undefined && firstPending > st.cursor + 1) st.cursor = firstPending - 1;
    }
    st.mode = 'live';
    this.drain(roomId, st);
    return { roomId, fromSeq: from, toSeq: st.cursor, lastSeq: to, complete: true };
  }

  private emit(d: Delivery): void {
    if (this.transport.bufferedAmount() > this.opts.maxBufferedBytes) {
      this.close(CloseCodes.slowConsumer.code, CloseCodes.slowConsumer.reason);
      return;
    }
    this.transport.send(d.frame, { roomId: d.event.roomId, seq: d.event.seq });
  }

  syncToken(): string {
    return encodeSyncToken(this.cursors());
  }
}
