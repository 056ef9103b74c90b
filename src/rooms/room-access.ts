import type { Principal } from '../auth/principal.js';
import { Errors } from '../errors/errors.js';
import type { MemberRow, RoomRow } from '../store/database.js';
import type { Repos } from '../store/store.js';
import { atLeast, type Role } from './room-model.js';

/** What the caller may do in a room, loaded once per operation. */
export interface RoomAccess {
  room: RoomRow;
  member: MemberRow | undefined;
  banned: boolean;
}

const DISCOVERABLE = new Set(['public', 'announcement']);

/**
 * Loads a room for the caller. Rooms the caller may not see (private, group and direct rooms they
 * are not in) answer ROOM_NOT_FOUND, exactly like rooms that do not exist, so ids do not leak.
 */
export async function loadRoom(repos: Repos, p: Principal, roomId: string, now: number): Promise<RoomAccess> {
  const room = await repos.rooms.findById(roomId);
  if (!room) throw Errors.roomNotFound();
  const [member, banned] = await Promise.all([
    repos.rooms.getMember(roomId, p.userId),
    repos.rooms.isBanned(roomId, p.userId, now),
  ]);
  if (!member && !DISCOVERABLE.has(room.type)) throw Errors.roomNotFound();
  return { room, member, banned };
}

/** Reading history and members: members, or anyone for discoverable rooms; never the banned. */
export function requireReadable(a: RoomAccess): void {
  if (a.banned) throw Errors.banned();
}

export function requireMember(a: RoomAccess): MemberRow {
  if (a.banned) throw Errors.banned();
  if (!a.member) throw Errors.notMember();
  return a.member;
}

export function requireRole(a: RoomAccess, min: Role, what: string): MemberRow {
  const m = requireMember(a);
  if (!atLeast(m.role, min)) throw Errors.forbidden(`Only a room ${min} or above can ${what}`);
  return m;
}

export function isDiscoverable(type: string): boolean {
  return DISCOVERABLE.has(type);
}
