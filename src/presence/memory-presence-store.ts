import type { PresenceInfo, PresenceStatus, PresenceStore } from './presence-store.js';

/** Presence for a single node, in process memory. */
export class MemoryPresenceStore implements PresenceStore {
  private readonly conns = new Map<string, Set<string>>();
  private readonly chosen = new Map<
    string,
    { status: Exclude<PresenceStatus, 'offline'>; customStatus: string | null }
  >();
  private readonly lastSeen = new Map<string, number>();

  async connect(userId: string, connId: string, now: number) {
    let set = this.conns.get(userId);
    const first = !set || set.size === 0;
    if (!set) {
      set = new Set();
      this.conns.set(userId, set);
    }
    set.add(connId);
    this.lastSeen.set(userId, now);
    return { first };
  }

  async heartbeat(userId: string, _connId: string, now: number) {
    if (this.conns.get(userId)?.size) this.lastSeen.set(userId, now);
  }

  async disconnect(userId: string, connId: string, now: number) {
    const set = this.conns.get(userId);
    if (!set?.delete(connId)) return { last: false };
    this.lastSeen.set(userId, now);
    if (set.size > 0) return { last: false };
    this.conns.delete(userId);
    return { last: true };
  }

  async setStatus(userId: string, status: Exclude<PresenceStatus, 'offline'>, customStatus: string | null) {
    this.chosen.set(userId, { status, customStatus });
  }

  async get(userIds: readonly string[]): Promise<PresenceInfo[]> {
    return userIds.map((userId) => {
      const connections = this.conns.get(userId)?.size ?? 0;
      const chosen = this.chosen.get(userId);
      return {
        userId,
        status: connections > 0 ? (chosen?.status ?? 'online') : 'offline',
        customStatus: chosen?.customStatus ?? null,
        lastSeen: this.lastSeen.get(userId) ?? null,
        connections,
      };
    });
  }

  async sweep(): Promise<string[]> {
    return [];
  }

  async online(limit: number, offset: number) {
    const all = [...this.conns.keys()].sort();
    return { userIds: all.slice(offset, offset + limit), total: all.length };
  }
}
