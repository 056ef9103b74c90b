import type { Bus, BusMessage } from '../bus/bus.js';
import { eventFrameText, type RoomEvent } from '../events/room-event.js';
import type { Heads, Session } from './session.js';

export interface HubDeps {
  bus: Bus;
  /** roomId -> last seq for every room a user is in. */
  roomHeads(userId: string): Promise<Heads>;
}

/**
 * This node's connections and which rooms their users are in. Each committed event from the bus is
 * serialized once and handed to every local session of every member of its room; membership follows
 * the log itself (user_joined / user_left), so no extra lookups happen on the hot path.
 */
export class Hub {
  private readonly sessionsByUser = new Map<string, Set<Session>>();
  private readonly roomsByUser = new Map<string, Set<string>>();
  private readonly usersByRoom = new Map<string, Set<string>>();
  /** Events seen while a user's rooms are being read, replayed to them once the rooms are known. */
  private readonly loading = new Map<Session, RoomEvent[]>();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeReconnect: () => void;

  constructor(private readonly deps: HubDeps) {
    this.unsubscribe = deps.bus.subscribe((m) => this.onBus(m));
    this.unsubscribeReconnect = deps.bus.onReconnect(() => void this.resync());
  }

  get connectionCount(): number {
    let n = 0;
    for (const s of this.sessionsByUser.values()) n += s.size;
    return n;
  }

  /** Users with at least one connection on this node. */
  localUserIds(): string[] {
    return [...this.sessionsByUser.keys()];
  }

  sessionsOf(userId: string): ReadonlySet<Session> {
    return this.sessionsByUser.get(userId) ?? new Set();
  }

  /**
   * Registers a session before its starting cursors are read, so nothing committed in between is
   * missed; returns the user's rooms with their heads.
   */
  async add(session: Session): Promise<Heads> {
    const userId = session.userId;
    let set = this.sessionsByUser.get(userId);
    if (!set) {
      set = new Set();
      this.sessionsByUser.set(userId, set);
    }
    set.add(session);
    this.loading.set(session, []);
    let heads: Heads;
    try {
      // A bus that is down keeps the wish and subscribes on reconnect, then the resync repairs
      // what was missed: the connection is served from this node meanwhile rather than refused.
      const watchingUser = this.deps.bus.watchUser(userId);
      if (watchingUser) await watchingUser.catch(() => {});
      heads = await this.deps.roomHeads(userId);
      if (!this.sessionsByUser.get(userId)?.has(session)) return heads;
      const pending = [...heads.keys()]
        .map((roomId) => this.link(userId, roomId))
        .filter((p) => p !== undefined);
      if (pending.length > 0) {
        // A remote bus delivers a room only once subscribed: read the heads again, so whatever was
        // committed before the subscription took hold is below them (replayed) and the rest arrives live.
        await Promise.all(pending.map((w) => w.catch(() => {})));
        heads = await this.deps.roomHeads(userId);
        for (const roomId of heads.keys()) void this.link(userId, roomId);
      }
    } catch (err) {
      this.loading.delete(session);
      throw err;
    }
    const seen = this.loading.get(session) ?? [];
    this.loading.delete(session);
    if (this.sessionsByUser.get(userId)?.has(session)) {
      // A room the user left after the read (a user_left among the events seen meanwhile, not followed
      // by a rejoin) was linked from stale heads: unlink it, or the user would get a room they are not in.
      const left = roomsLeftAfter(seen, heads, userId);
      if (left.size > 0) {
        heads = new Map([...heads].filter(([roomId]) => !left.has(roomId)));
        for (const roomId of left) this.unlink(userId, roomId);
      }
      // Events published between the read and now; the session drops those at or below the heads.
      for (const e of seen) if (heads.has(e.roomId)) session.deliver(e, eventFrameText(e));
    }
    return heads;
  }

  /** The user's rooms with their current last seq. */
  heads(userId: string): Promise<Heads> {
    return this.deps.roomHeads(userId);
  }

  remove(session: Session): { lastOfUser: boolean } {
    const set = this.sessionsByUser.get(session.userId);
    if (!set?.delete(session)) return { lastOfUser: false };
    if (set.size > 0) return { lastOfUser: false };
    this.sessionsByUser.delete(session.userId);
    for (const roomId of [...(this.roomsByUser.get(session.userId) ?? [])])
      this.unlink(session.userId, roomId);
    this.roomsByUser.delete(session.userId);
    this.deps.bus.unwatchUser(session.userId);
    return { lastOfUser: true };
  }

  /** Local members of a room (users with a connection on this node). */
  localMembers(roomId: string): ReadonlySet<string> {
    return this.usersByRoom.get(roomId) ?? new Set();
  }

  close(): void {
    this.unsubscribe();
    this.unsubscribeReconnect();
  }

  /**
   * After the bus reconnects, messages published meanwhile may be lost: compare every local
   * session's cursors with the store's heads and replay what is missing.
   */
  async resync(): Promise<void> {
    for (const userId of [...this.sessionsByUser.keys()]) {
      try {
        const heads = await this.deps.roomHeads(userId);
        for (const s of this.sessionsByUser.get(userId) ?? []) s.catchUp(heads);
      } catch {
        // the store is down too; the next event's gap repair or the next resync will catch up
      }
    }
  }

  private onBus(m: BusMessage): void {
    if (m.kind === 'event') {
      this.onEvent(m.event);
      return;
    }
    const frame = JSON.stringify(m.frame);
    const to = m.to;
    if ('all' in to) {
      for (const set of this.sessionsByUser.values()) for (const s of set) s.sendFrame(frame);
    } else if ('userIds' in to) {
      for (const u of to.userIds) for (const s of this.sessionsByUser.get(u) ?? []) s.sendFrame(frame);
    } else {
      for (const u of this.usersByRoom.get(to.roomId) ?? []) {
        if (u === to.exceptUserId) continue;
        for (const s of this.sessionsByUser.get(u) ?? []) s.sendFrame(frame);
      }
    }
  }

  private onEvent(e: RoomEvent): void {
    for (const seen of this.loading.values()) seen.push(e);
    // A local user who just joined starts following the room at this event.
    if (e.type === 'user_joined') {
      const userId = (e as RoomEvent<'user_joined'>).body.user.userId;
      if (this.sessionsByUser.has(userId)) this.follow(userId, e.roomId, e.seq - 1);
    } else if (e.type === 'room_created' && this.sessionsByUser.has(e.actorId ?? '')) {
      // The creator's join event follows right after; follow the room from its first event.
      this.follow(e.actorId!, e.roomId, e.seq - 1);
    }
    const members = this.usersByRoom.get(e.roomId);
    if (members && members.size > 0) {
      const frame = eventFrameText(e);
      for (const u of members) for (const s of this.sessionsByUser.get(u) ?? []) s.deliver(e, frame);
    }
    if (e.type === 'user_left') {
      const userId = (e as RoomEvent<'user_left'>).body.userId;
      this.unlink(userId, e.roomId);
      for (const s of this.sessionsByUser.get(userId) ?? []) s.untrackRoom(e.roomId);
    }
  }

  /**
   * A local user is now in a room. If the room is new to this node, events published before the bus
   * subscription took hold never reach us, so once it has, the user's sessions catch up from the store.
   */
  private follow(userId: string, roomId: string, fromSeq: number): void {
    const subscribing = this.link(userId, roomId);
    for (const s of this.sessionsByUser.get(userId) ?? []) s.trackRoom(roomId, fromSeq);
    if (!subscribing) return;
    void subscribing
      .then(() => this.deps.roomHeads(userId))
      .then((heads) => {
        const head = heads.get(roomId);
        if (!head) return;
        for (const s of this.sessionsByUser.get(userId) ?? []) s.catchUp(new Map([[roomId, head]]));
      })
      .catch(() => {
        // store or bus down: the next event's gap repair or the reconnect resync catches up
      });
  }

  /** Returns the bus's subscription promise when the room is new to this node. */
  private link(userId: string, roomId: string): Promise<void> | undefined {
    let rooms = this.roomsByUser.get(userId);
    if (!rooms) {
      rooms = new Set();
      this.roomsByUser.set(userId, rooms);
    }
    rooms.add(roomId);
    let users = this.usersByRoom.get(roomId);
    if (!users) {
      users = new Set();
      this.usersByRoom.set(roomId, users);
      users.add(userId);
      return this.deps.bus.watchRoom(roomId) ?? undefined;
    }
    users.add(userId);
    return undefined;
  }

  private unlink(userId: string, roomId: string): void {
    this.roomsByUser.get(userId)?.delete(roomId);
    const users = this.usersByRoom.get(roomId);
    users?.delete(userId);
    if (users?.size === 0) {
      this.usersByRoom.delete(roomId);
      this.deps.bus.unwatchRoom(roomId);
    }
  }
}

/** Rooms whose last membership event for `userId` among `seen` is a user_left after the heads were read. */
function roomsLeftAfter(seen: readonly RoomEvent[], heads: Heads, userId: string): Set<string> {
  const left = new Set<string>();
  for (const e of seen) {
    const head = heads.get(e.roomId);
    if (!head || e.seq <= head.lastSeq) continue;
    if (e.type === 'user_left' && (e as RoomEvent<'user_left'>).body.userId === userId) left.add(e.roomId);
    else if (e.type === 'user_joined' && (e as RoomEvent<'user_joined'>).body.user.userId === userId)
      left.delete(e.roomId);
  }
  return left;
}
