import type { Principal } from '../auth/principal.js';
import type { Bus } from '../bus/bus.js';
import { Errors } from '../errors/errors.js';
import type { Store } from '../store/store.js';
import { isDiscoverable, loadRoom, requireRole } from './room-access.js';
import { type RoomView, readSettings } from './room-model.js';
import type { RoomsService } from './rooms.service.js';

export interface JoinRequestView {
  userId: string;
  username: string;
  displayName: string;
  avatar: string | null;
  message: string | null;
  /** ISO time the request was made. */
  createdAt: string;
}

export type JoinOutcome = { status: 'pending' } | { status: 'joined'; room: RoomView };

/**
 * Join requests: joining a public or announcement room with `settings.requireApproval` records a
 * pending request instead of a membership; a room admin or above approves it (the ordinary
 * add-members path, logged as `user_joined` with invitedBy = the approver) or rejects it, and the
 * requester may cancel it. Other rooms join directly through RoomsService.join.
 */
export class JoinRequestsService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly rooms: RoomsService,
    private readonly now: () => number = Date.now,
  ) {}

  async join(p: Principal, roomId: string, message?: string): Promise<JoinOutcome> {
    const now = this.now();
    const pending = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      if (a.banned) throw Errors.banned();
      if (a.member) throw Errors.alreadyMember();
      const settings = readSettings(a.room.settings);
      // loadRoom already hid non-discoverable rooms from non-members; they stay invite-only.
      if (!settings.requireApproval || !isDiscoverable(a.room.type)) return false;
      const text = message?.trim();
      await r.joinRequests.insert({
        room_id: roomId,
        user_id: p.userId,
        message: text ? text : null,
        created_at: now,
      });
      return true;
    });
    if (pending) return { status: 'pending' };
    return { status: 'joined', room: await this.rooms.join(p, roomId) };
  }

  async list(p: Principal, roomId: string): Promise<JoinRequestView[]> {
    const a = await loadRoom(this.store.repos, p, roomId, this.now());
    requireRole(a, 'admin', 'see join requests');
    return (await this.store.repos.joinRequests.list(roomId)).map((j) => ({
      userId: j.user_id,
      username: j.username,
      displayName: j.display_name,
      avatar: j.avatar,
      message: j.message,
      createdAt: new Date(j.created_at).toISOString(),
    }));
  }

  async approve(p: Principal, roomId: string, userId: string): Promise<void> {
    const now = this.now();
    const events = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      requireRole(a, 'admin', 'approve join requests');
      if (!(await r.joinRequests.find(roomId, userId))) throw noRequest();
      if (await r.rooms.isBanned(roomId, userId, now)) {
        throw Errors.banned('That user is banned from this room; unban them first');
      }
      await r.joinRequests.delete(roomId, userId);
      if (await r.rooms.getMember(roomId, userId)) return [];
      return this.rooms.addApproved(r, a.room, userId, p.userId, now);
    });
    this.bus.publish(events);
  }

  async reject(p: Principal, roomId: string, userId: string): Promise<void> {
    const now = this.now();
    await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      requireRole(a, 'admin', 'reject join requests');
      if (!(await r.joinRequests.delete(roomId, userId))) throw noRequest();
    });
  }

  /** The requester withdraws their own request. */
  async cancel(p: Principal, roomId: string): Promise<void> {
    const now = this.now();
    await this.store.tx(async (r) => {
      await loadRoom(r, p, roomId, now);
      if (!(await r.joinRequests.delete(roomId, p.userId)))
        throw noRequest('You have no pending join request here');
    });
  }
}

function noRequest(msg = 'No pending join request from that user') {
  return Errors.notFound(msg);
}
