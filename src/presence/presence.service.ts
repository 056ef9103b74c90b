import type { Bus } from '../bus/bus.js';
import type { Store } from '../store/store.js';
import type { PresenceInfo, PresenceStatus, PresenceStore } from './presence-store.js';

export interface PresenceView {
  userId: string;
  status: PresenceStatus;
  customStatus: string | null;
  lastSeen: string | null;
}

export interface PresenceServiceOptions {
  /** Presence is pushed to members of rooms up to this size (and DM peers); larger rooms query it. */
  fanoutMaxMembers: number;
  /** Ms to wait after a user's last connection closes before announcing offline (reconnects in between stay silent). */
  offlineGraceMs: number;
  /** Ms between sweeps for connections that expired without closing (crashed nodes); 0 disables. */
  sweepIntervalMs: number;
}

export function toPresenceView(p: PresenceInfo): PresenceView {
  return {
    userId: p.userId,
    status: p.status,
    customStatus: p.customStatus,
    lastSeen: p.lastSeen === null ? null : new Date(p.lastSeen).toISOString(),
  };
}

/** Online/away/busy/offline across a user's devices, pushed to the people who share small rooms with them. */
export class PresenceService {
  private readonly offlineTimers = new Map<string, NodeJS.Timeout>();
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly presence: PresenceStore,
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly opts: PresenceServiceOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (opts.sweepIntervalMs > 0) {
      this.sweeper = setInterval(() => void this.sweep(), opts.sweepIntervalMs);
      this.sweeper.unref();
    }
  }

  /** Announces offline the users whose connections expired on a node that died. */
  async sweep(): Promise<void> {
    try {
      for (const userId of await this.presence.sweep(this.now())) await this.announce(userId);
    } catch {
      // Redis or the store is down: users already taken off the queue are not announced; their peers
      // still see them offline on the next presence query.
    }
  }

  async connected(userId: string, connId: string): Promise<void> {
    const pendingOffline = this.offlineTimers.get(userId);
    if (pendingOffline) {
      clearTimeout(pendingOffline);
      this.offlineTimers.delete(userId);
    }
    const { first } = await this.presence.connect(userId, connId, this.now());
    if (first && !pendingOffline) await this.announce(userId);
  }

  heartbeat(userId: string, connId: string): Promise<void> {
    return this.presence.heartbeat(userId, connId, this.now());
  }

  async disconnected(userId: string, connId: string): Promise<void> {
    const { last } = await this.presence.disconnect(userId, connId, this.now());
    if (!last) return;
    if (this.opts.offlineGraceMs <= 0) return this.announce(userId);
    const timer = setTimeout(() => {
      this.offlineTimers.delete(userId);
      void this.announceIfOffline(userId);
    }, this.opts.offlineGraceMs);
    timer.unref();
    this.offlineTimers.set(userId, timer);
  }

  async setStatus(userId: string, status: Exclude<PresenceStatus, 'offline'>, customStatus: string | null) {
    await this.presence.setStatus(userId, status, customStatus);
    await this.announce(userId);
  }

  async get(userIds: readonly string[]): Promise<PresenceView[]> {
    return (await this.presence.get(userIds)).map(toPresenceView);
  }

  /** Users online now (seed: active_clients_request). */
  async active(limit: number, offset: number): Promise<{ users: PresenceView[]; total: number }> {
    const { userIds, total } = await this.presence.online(limit, offset);
    return { users: await this.get(userIds), total };
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const t of this.offlineTimers.values()) clearTimeout(t);
    this.offlineTimers.clear();
  }

  private async announceIfOffline(userId: string) {
    const [info] = await this.presence.get([userId]);
    if (info && info.connections === 0) await this.announce(userId);
  }

  private async announce(userId: string): Promise<void> {
    const peers = await this.store.repos.rooms.peersInSmallRooms(userId, this.opts.fanoutMaxMembers);
    // Read after the (slower) peers query, so what goes out is the state now: a user who reconnected
    // meanwhile must not be announced offline.
    const [info] = await this.presence.get([userId]);
    if (!info) return;
    // The user's own other devices learn of status changes too.
    this.bus.publishEphemeral(
      { userIds: [...peers, userId] },
      { type: 'presence_update', ...toPresenceView(info) },
    );
  }
}
