import { iso } from '../shared/json.js';
import type { RoomRow } from '../store/database.js';
import { type MemberView, type Role, type RoomType, type RoomView, readSettings } from './room-model.js';

export function toRoomView(r: RoomRow): RoomView {
  return {
    roomId: r.id,
    name: r.name,
    description: r.description,
    type: r.type as RoomType,
    avatar: r.avatar,
    createdBy: r.created_by,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    memberCount: r.member_count,
    maxMembers: r.max_members,
    lastActivity: iso(r.last_activity),
    lastSeq: r.last_seq,
    settings: readSettings(r.settings),
  };
}

/** Adds the caller's membership to a room view: role, read position, unread count. */
export function withMembership(
  view: RoomView,
  room: Pick<RoomRow, 'message_count'>,
  m: { role: string | null; read_seq: number | null; read_count: number | null } | undefined,
): RoomView {
  const joined = m?.role != null;
  return {
    ...view,
    isJoined: joined,
    role: joined ? (m!.role as Role) : null,
    readSeq: joined ? (m!.read_seq ?? 0) : 0,
    unreadCount: joined ? Math.max(0, room.message_count - (m!.read_count ?? 0)) : 0,
  };
}

export function toMemberView(r: {
  user_id: string;
  role: string;
  joined_at: number;
  read_seq: number;
  delivered_seq: number;
  username: string;
  display_name: string;
  avatar: string | null;
  is_bot: number;
}): MemberView {
  return {
    userId: r.user_id,
    username: r.username,
    displayName: r.display_name,
    avatar: r.avatar,
    role: r.role as Role,
    joinedAt: iso(r.joined_at),
    readSeq: r.read_seq,
    deliveredSeq: r.delivered_seq,
    isBot: r.is_bot === 1,
  };
}
