import type { Principal } from '../auth/principal.js';
import type { Bus } from '../bus/bus.js';
import { Errors } from '../errors/errors.js';
import { appendOne } from '../events/room-log.js';
import { loadRoom, requireRole } from '../rooms/room-access.js';
import { roleRank } from '../rooms/room-model.js';
import type { Store } from '../store/store.js';

export interface MuteView {
  userId: string;
  /** ISO time the mute ends, or null once lifted. */
  mutedUntil: string | null;
}

/**
 * Timed mutes: a muted member stays in the room and reads it, but sends are refused with `MUTED`
 * until `members.muted_until` (see send-checks.ts). Same rules as kick: a moderator or above, and
 * only over members below their own role.
 */
export class ModerationService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly now: () => number = Date.now,
  ) {}

  async mute(
    p: Principal,
    roomId: string,
    userId: string,
    durationSeconds: number,
    reason?: string,
  ): Promise<MuteView> {
    const now = this.now();
    const until = now + durationSeconds * 1000;
    return this.setMute(p, roomId, userId, until, now, reason);
  }

  /** Members muted now (moderators and above). */
  async listMutes(p: Principal, roomId: string): Promise<MuteView[]> {
    const now = this.now();
    const a = await loadRoom(this.store.repos, p, roomId, now);
    requireRole(a, 'moderator', 'list mutes');
    const rows = await this.store.repos.rooms.activeMutes(roomId, now);
    return rows.map((r) => ({ userId: r.user_id, mutedUntil: new Date(r.muted_until).toISOString() }));
  }

  async unmute(p: Principal, roomId: string, userId: string): Promise<MuteView> {
    const now = this.now();
    return this.setMute(p, roomId, userId, null, now);
  }

  private async setMute(
    p: Principal,
    roomId: string,
    userId: string,
    until: number | null,
    now: number,
    reason?: string,
  ): Promise<MuteView> {
    const what = until === null ? 'unmute members' : 'mute members';
    const event = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      if (a.room.type === 'direct') throw Errors.forbidden('Nobody can be muted in a direct conversation');
      const me = requireRole(a, 'moderator', what);
      if (userId === p.userId) throw Errors.validation('You cannot mute or unmute yourself');
      const target = await r.rooms.getMember(roomId, userId);
      if (!target) throw Errors.userNotFound('That user is not a member of this room');
      if (roleRank(target.role) >= roleRank(me.role))
        throw Errors.forbidden(`You can only ${what} below your role`);
      await r.rooms.setMutedUntil(roomId, userId, until);
      return appendOne(r, roomId, now, {
        type: 'member_muted',
        actorId: p.userId,
        body: {
          userId,
          mutedUntil: until === null ? null : new Date(until).toISOString(),
          by: p.userId,
          ...(reason ? { reason } : {}),
        },
      });
    });
    this.bus.publish([event]);
    return { userId, mutedUntil: until === null ? null : new Date(until).toISOString() };
  }
}
