import type { Principal } from '../auth/principal.js';
import type { Bus } from '../bus/bus.js';
import { Errors } from '../errors/errors.js';
import type { PendingEvent, RoomEvent } from '../events/room-event.js';
import { appendOne, appendToLog } from '../events/room-log.js';
import { newId } from '../shared/ids.js';
import type { RoomRow, UserRow } from '../store/database.js';
import type { Repos, Store } from '../store/store.js';
import { loadRoom, requireMember, requireReadable, requireRole } from './room-access.js';
import {
  atLeast,
  DEFAULT_MAX_MEMBERS,
  defaultSettings,
  type MemberView,
  type Role,
  type RoomSettings,
  type RoomType,
  type RoomView,
  readSettings,
  roleRank,
} from './room-model.js';
import { toMemberView, toRoomView, withMembership } from './room-views.js';

export interface CreateRoomInput {
  /** Server features only (bridges pick the id before the room exists); no route passes it. */
  id?: string;
  name: string;
  description?: string;
  type: Exclude<RoomType, 'direct'>;
  avatar?: string | null;
  maxMembers?: number;
  /** Users added on creation (private rooms and groups). */
  memberIds?: string[];
  settings?: Partial<RoomSettings>;
  /** Shorthand from the chat API: `allowInvites`. */
  allowInvites?: boolean;
}

export interface UpdateRoomInput {
  name?: string;
  description?: string;
  avatar?: string | null;
  maxMembers?: number;
  settings?: Partial<RoomSettings>;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  hasMore: boolean;
}

export interface RoomsServiceOptions {
  maxFileSize: number;
  retentionDays: number;
}

export class RoomsService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly opts: RoomsServiceOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async create(p: Principal, input: CreateRoomInput): Promise<RoomView> {
    this.checkSettings(input.settings);
    const now = this.now();
    const memberIds = [...new Set(input.memberIds ?? [])].filter((id) => id !== p.userId);
    const maxMembers = input.maxMembers ?? DEFAULT_MAX_MEMBERS[input.type];
    if (memberIds.length + 1 > maxMembers) throw Errors.roomFull('More initial members than maxMembers');
    const settings: RoomSettings = {
      ...defaultSettings({ maxFileSize: this.opts.maxFileSize, retentionDays: this.opts.retentionDays }),
      ...input.settings,
      ...(input.allowInvites !== undefined ? { allowInvites: input.allowInvites } : {}),
    };
    const row: RoomRow = {
      id: input.id ?? newId('room'),
      type: input.type,
      name: input.name.trim(),
      description: input.description?.trim() ?? '',
      avatar: input.avatar ?? null,
      created_by: p.userId,
      created_at: now,
      updated_at: now,
      last_seq: 0,
      message_count: 0,
      last_activity: now,
      member_count: 0,
      max_members: maxMembers,
      settings: JSON.stringify(settings),
      dm_key: null,
    };
    const { events, room } = await this.store.tx(async (r) => {
      const users = await this.requireUsers(r, [p.userId, ...memberIds]);
      await r.rooms.insert(row);
      const joined = [{ user: users.get(p.userId)!, role: 'owner' as Role }];
      for (const id of memberIds) joined.push({ user: users.get(id)!, role: 'member' });
      for (const j of joined) {
        await r.rooms.addMember({
          room_id: row.id,
          user_id: j.user.id,
          role: j.role,
          joined_at: now,
          muted_until: null,
        });
      }
      const created = (await r.rooms.findById(row.id))!;
      const pending: PendingEvent[] = [
        { type: 'room_created', actorId: p.userId, body: { room: toRoomView(created) } },
        ...joined.map((j) =>
          joinedEvent(j.user, j.role, p.userId, j.user.id === p.userId ? undefined : p.userId),
        ),
      ];
      const events = await appendToLog(r, row.id, now, pending.length, 0, () => pending);
      // The creator has seen everything so far.
      await r.rooms.advanceRead(row.id, p.userId, events.at(-1)!.seq, 0);
      return { events, room: (await r.rooms.findById(row.id))! };
    });
    this.bus.publish(events);
    return withMembership(toRoomView(room), room, { role: 'owner', read_seq: room.last_seq, read_count: 0 });
  }

  /** The direct room of two users, created on first use. */
  async findOrCreateDirect(p: Principal, otherUserId: string): Promise<RoomView> {
    if (otherUserId === p.userId)
      throw Errors.validation('You cannot open a direct conversation with yourself');
    const key = [p.userId, otherUserId].sort().join(':');
    const existing = await this.store.repos.rooms.findByDmKey(key);
    if (existing) return this.get(p, existing.id);
    const now = this.now();
    let events: RoomEvent[] = [];
    try {
      events = await this.store.tx(async (r) => {
        const users = await this.requireUsers(r, [p.userId, otherUserId]);
        const other = users.get(otherUserId)!;
        const me = users.get(p.userId)!;
        const id = newId('room');
        await r.rooms.insert({
          id,
          type: 'direct',
          name: '',
          description: '',
          avatar: null,
          created_by: p.userId,
          created_at: now,
          updated_at: now,
          last_activity: now,
          max_members: 2,
          settings: JSON.stringify(
            defaultSettings({ maxFileSize: this.opts.maxFileSize, retentionDays: this.opts.retentionDays }),
          ),
          dm_key: key,
        });
        for (const u of [me, other]) {
          await r.rooms.addMember({
            room_id: id,
            user_id: u.id,
            role: 'member',
            joined_at: now,
            muted_until: null,
          });
        }
        const created = (await r.rooms.findById(id))!;
        const pending: PendingEvent[] = [
          { type: 'room_created', actorId: p.userId, body: { room: toRoomView(created) } },
          joinedEvent(me, 'member', p.userId),
          joinedEvent(other, 'member', p.userId, p.userId),
        ];
        return appendToLog(r, id, now, pending.length, 0, () => pending);
      });
    } catch (err) {
      // Both users opened the conversation at once: the unique dm_key let one win; use that room.
      const winner = await this.store.repos.rooms.findByDmKey(key);
      if (!winner) throw err;
      return this.get(p, winner.id);
    }
    this.bus.publish(events);
    return this.get(p, events[0]!.roomId);
  }

  /**
   * A server-owned `announcement` room with a fixed id, created on first use. It is discoverable and
   * joinable like any announcement room but starts with no members, so no one holds a role that
   * lets them post through the member API. `createdBy` is recorded as its creator; its
   * `room_created` event has no actor, since no member follows from it (the hub has the creator of a
   * room follow it).
   */
  async ensureSystemRoom(roomId: string, name: string, createdBy: string): Promise<void> {
    if (await this.store.repos.rooms.findById(roomId)) return;
    const now = this.now();
    let events: RoomEvent[];
    try {
      events = await this.store.tx(async (r) => {
        await r.rooms.insert({
          id: roomId,
          type: 'announcement',
          name,
          description: '',
          avatar: null,
          created_by: createdBy,
          created_at: now,
          updated_at: now,
          last_activity: now,
          max_members: DEFAULT_MAX_MEMBERS.announcement,
          settings: JSON.stringify(
            defaultSettings({ maxFileSize: this.opts.maxFileSize, retentionDays: this.opts.retentionDays }),
          ),
          dm_key: null,
        });
        const created = (await r.rooms.findById(roomId))!;
        return [
          await appendOne(r, roomId, now, {
            type: 'room_created',
            actorId: null,
            body: { room: toRoomView(created) },
          }),
        ];
      });
    } catch (err) {
      // Created at the same moment by another request or node: the primary key let one win.
      if (await this.store.repos.rooms.findById(roomId)) return;
      throw err;
    }
    this.bus.publish(events);
  }

  async list(
    p: Principal,
    q: { type?: string; limit: number; offset: number; joined?: boolean },
  ): Promise<Page<RoomView>> {
    const filter = { userId: p.userId, type: q.type, joinedOnly: q.joined ?? false, now: this.now() };
    const [rows, total] = await Promise.all([
      this.store.repos.rooms.list({ ...filter, limit: q.limit, offset: q.offset }),
      this.store.repos.rooms.countVisible(filter),
    ]);
    const items = rows.map((r) => withMembership(toRoomView(r), r, r));
    return { items, total, limit: q.limit, offset: q.offset, hasMore: q.offset + items.length < total };
  }

  async get(p: Principal, roomId: string): Promise<RoomView> {
    const a = await loadRoom(this.store.repos, p, roomId, this.now());
    requireReadable(a);
    return withMembership(toRoomView(a.room), a.room, a.member);
  }

  /** Throws unless the caller is a member (not banned) of the room. */
  async requireMembership(p: Principal, roomId: string): Promise<void> {
    requireMember(await loadRoom(this.store.repos, p, roomId, this.now()));
  }

  async update(p: Principal, roomId: string, input: UpdateRoomInput): Promise<RoomView> {
    this.checkSettings(input.settings);
    const now = this.now();
    const event = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      if (a.room.type === 'direct') throw Errors.forbidden('Direct conversations have no settings to change');
      requireRole(a, 'admin', 'change room settings');
      if (input.maxMembers !== undefined && input.maxMembers < a.room.member_count) {
        throw Errors.validation(
          `maxMembers cannot be below the current member count (${a.room.member_count})`,
        );
      }
      const settings = { ...readSettings(a.room.settings), ...input.settings };
      await r.rooms.update(
        roomId,
        {
          ...(input.name !== undefined ? { name: input.name.trim() } : {}),
          ...(input.description !== undefined ? { description: input.description.trim() } : {}),
          ...(input.avatar !== undefined ? { avatar: input.avatar } : {}),
          ...(input.maxMembers !== undefined ? { max_members: input.maxMembers } : {}),
          settings: JSON.stringify(settings),
        },
        now,
      );
      const updated = (await r.rooms.findById(roomId))!;
      return appendOne(r, roomId, now, {
        type: 'room_updated',
        actorId: p.userId,
        body: { room: toRoomView(updated) },
      });
    });
    this.bus.publish([event]);
    return this.get(p, roomId);
  }

  async join(p: Principal, roomId: string): Promise<RoomView> {
    const now = this.now();
    const event = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      if (a.banned) throw Errors.banned();
      if (a.member) throw Errors.alreadyMember();
      // loadRoom already hid non-discoverable rooms from non-members.
      const settings = readSettings(a.room.settings);
      if (settings.requireApproval) {
        throw Errors.forbidden('This room requires approval; ask a room admin for an invite');
      }
      return this.addMembers(r, a.room, [p.userId], 'member', p.userId, undefined, now);
    });
    this.bus.publish(event);
    return this.get(p, roomId);
  }

  /**
   * Adds one user as a member on an admin's approval (join requests), inside the caller's
   * transaction: the usual add-members path (maxMembers, `user_joined` with invitedBy = approver).
   */
  addApproved(
    r: Repos,
    room: RoomRow,
    userId: string,
    approverId: string,
    now: number,
  ): Promise<RoomEvent[]> {
    return this.addMembers(r, room, [userId], 'member', approverId, approverId, now);
  }

  async leave(p: Principal, roomId: string): Promise<void> {
    const now = this.now();
    const events = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      const m = requireMember(a);
      if (a.room.type === 'direct') throw Errors.forbidden('You cannot leave a direct conversation');
      return this.removeMember(r, roomId, m, { userId: p.userId, reason: 'left' }, now);
    });
    this.bus.publish(events);
  }

  async invite(p: Principal, roomId: string, userIds: string[]): Promise<MemberView[]> {
    const now = this.now();
    const ids = [...new Set(userIds)];
    const events = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      const m = requireMember(a);
      if (a.room.type === 'direct')
        throw Errors.forbidden('You cannot invite people to a direct conversation');
      const settings = readSettings(a.room.settings);
      if (!settings.allowInvites && !atLeast(m.role, 'admin')) {
        throw Errors.forbidden('Invites are turned off in this room; ask a room admin');
      }
      if (a.room.type === 'announcement' && !atLeast(m.role, 'admin')) {
        throw Errors.forbidden('Only admins can invite to an announcement room');
      }
      const fresh: string[] = [];
      for (const id of ids) {
        if (await r.rooms.isBanned(roomId, id, now))
          throw Errors.banned(`User ${id} is banned from this room`);
        if (!(await r.rooms.getMember(roomId, id))) fresh.push(id);
      }
      return this.addMembers(r, a.room, fresh, 'member', p.userId, p.userId, now);
    });
    this.bus.publish(events);
    return (await this.store.repos.rooms.listMembers(roomId, 10_000, 0))
      .filter((row) => ids.includes(row.user_id))
      .map(toMemberView);
  }

  async members(p: Principal, roomId: string, limit: number, offset: number): Promise<Page<MemberView>> {
    const a = await loadRoom(this.store.repos, p, roomId, this.now());
    requireReadable(a);
    const rows = await this.store.repos.rooms.listMembers(roomId, limit, offset);
    const total = a.room.member_count;
    return { items: rows.map(toMemberView), total, limit, offset, hasMore: offset + rows.length < total };
  }

  async setRole(p: Principal, roomId: string, userId: string, role: Role): Promise<MemberView> {
    const now = this.now();
    const events = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      if (a.room.type === 'direct') throw Errors.forbidden('Direct conversations have no roles');
      const me = requireRole(a, 'admin', 'change roles');
      const target = await r.rooms.getMember(roomId, userId);
      if (!target) throw Errors.userNotFound('That user is not a member of this room');
      const events: RoomEvent[] = [];
      if (role === 'owner') {
        if (me.role !== 'owner') throw Errors.forbidden('Only the owner can transfer ownership');
        if (userId === p.userId) return events;
        await r.rooms.setRole(roomId, p.userId, 'admin');
        events.push(await appendOne(r, roomId, now, memberUpdated(p.userId, 'admin', p.userId)));
      } else if (userId === p.userId) {
        if (me.role === 'owner') throw Errors.forbidden('Transfer ownership before changing your own role');
      } else if (roleRank(target.role) >= roleRank(me.role) || roleRank(role) >= roleRank(me.role)) {
        throw Errors.forbidden('You can only manage members below your own role');
      }
      await r.rooms.setRole(roomId, userId, role);
      events.push(await appendOne(r, roomId, now, memberUpdated(userId, role, p.userId)));
      return events;
    });
    this.bus.publish(events);
    const row = (await this.store.repos.rooms.listMembers(roomId, 10_000, 0)).find(
      (m) => m.user_id === userId,
    );
    return toMemberView(row!);
  }

  async kick(p: Principal, roomId: string, userId: string): Promise<void> {
    const now = this.now();
    const events = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      if (a.room.type === 'direct')
        throw Errors.forbidden('Nobody can be removed from a direct conversation');
      const me = requireRole(a, 'moderator', 'remove members');
      const target = await r.rooms.getMember(roomId, userId);
      if (!target) throw Errors.userNotFound('That user is not a member of this room');
      if (roleRank(target.role) >= roleRank(me.role))
        throw Errors.forbidden('You can only remove members below your role');
      return this.removeMember(r, roomId, target, { userId, reason: 'kicked', by: p.userId }, now);
    });
    this.bus.publish(events);
  }

  async ban(
    p: Principal,
    roomId: string,
    userId: string,
    reason: string | null,
    durationSec?: number,
  ): Promise<void> {
    const now = this.now();
    const events = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      if (a.room.type === 'direct') throw Errors.forbidden('Nobody can be banned from a direct conversation');
      const me = requireRole(a, 'moderator', 'ban members');
      if (userId === p.userId) throw Errors.validation('You cannot ban yourself');
      if (!(await r.users.findById(userId))) throw Errors.userNotFound();
      const target = await r.rooms.getMember(roomId, userId);
      if (target && roleRank(target.role) >= roleRank(me.role)) {
        throw Errors.forbidden('You can only ban members below your role');
      }
      await r.rooms.ban(roomId, userId, p.userId, reason, now, durationSec ? now + durationSec * 1000 : null);
      return target
        ? this.removeMember(r, roomId, target, { userId, reason: 'banned', by: p.userId }, now)
        : [];
    });
    this.bus.publish(events);
  }

  async unban(p: Principal, roomId: string, userId: string): Promise<void> {
    const now = this.now();
    await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      requireRole(a, 'moderator', 'unban members');
      if (!(await r.rooms.unban(roomId, userId))) throw Errors.notFound('That user is not banned here');
    });
  }

  async bans(p: Principal, roomId: string) {
    const a = await loadRoom(this.store.repos, p, roomId, this.now());
    requireRole(a, 'moderator', 'list bans');
    return (await this.store.repos.rooms.listBans(roomId, this.now())).map((b) => ({
      userId: b.user_id,
      bannedBy: b.banned_by,
      reason: b.reason,
      createdAt: new Date(b.created_at).toISOString(),
      expiresAt: b.expires_at === null ? null : new Date(b.expires_at).toISOString(),
    }));
  }

  /** Room settings may tighten the server's limits, never loosen them. */
  private checkSettings(s: Partial<RoomSettings> | undefined): void {
    if (s?.maxFileSize !== undefined && s.maxFileSize > this.opts.maxFileSize) {
      throw Errors.validation(
        `settings.maxFileSize cannot exceed the server limit of ${this.opts.maxFileSize} bytes`,
      );
    }
  }

  private async requireUsers(r: Repos, ids: string[]): Promise<Map<string, UserRow>> {
    const rows = await r.users.findByIds(ids);
    const map = new Map(rows.map((u) => [u.id, u]));
    const missing = ids.filter((id) => !map.has(id));
    if (missing.length > 0) throw Errors.userNotFound(`Unknown user: ${missing.join(', ')}`);
    return map;
  }

  private async addMembers(
    r: Repos,
    room: RoomRow,
    userIds: string[],
    role: Role,
    actorId: string,
    invitedBy: string | undefined,
    now: number,
  ): Promise<RoomEvent[]> {
    if (userIds.length === 0) return [];
    const current = (await r.rooms.findById(room.id))!;
    if (current.member_count + userIds.length > current.max_members) throw Errors.roomFull();
    const users = await this.requireUsers(r, userIds);
    for (const id of userIds) {
      await r.rooms.addMember({
        room_id: room.id,
        user_id: id,
        role,
        joined_at: now,
        muted_until: null,
        // New members start with nothing unread: their read position is the room's head.
        read_seq: current.last_seq,
        read_count: current.message_count,
        delivered_seq: current.last_seq,
      });
    }
    const pending = userIds.map((id) => joinedEvent(users.get(id)!, role, actorId, invitedBy));
    return appendToLog(r, room.id, now, pending.length, 0, () => pending);
  }

  /** Removes a member; an owner who leaves hands the room to the longest-standing admin, else member. */
  private async removeMember(
    r: Repos,
    roomId: string,
    member: { user_id: string; role: string },
    body: { userId: string; reason: 'left' | 'kicked' | 'banned'; by?: string },
    now: number,
  ): Promise<RoomEvent[]> {
    await r.rooms.removeMember(roomId, member.user_id);
    const events = [
      await appendOne(r, roomId, now, { type: 'user_left', actorId: body.by ?? body.userId, body }),
    ];
    if (member.role === 'owner') {
      const rest = await r.rooms.listMembers(roomId, 10_000, 0);
      const heir = [...rest].sort(
        (x, y) => roleRank(y.role) - roleRank(x.role) || x.joined_at - y.joined_at,
      )[0];
      if (heir) {
        await r.rooms.setRole(roomId, heir.user_id, 'owner');
        events.push(await appendOne(r, roomId, now, memberUpdated(heir.user_id, 'owner', member.user_id)));
      }
    }
    return events;
  }
}

function joinedEvent(
  u: UserRow,
  role: Role,
  actorId: string,
  invitedBy?: string,
): PendingEvent<'user_joined'> {
  return {
    type: 'user_joined',
    actorId,
    body: {
      user: { userId: u.id, username: u.username, displayName: u.display_name },
      role,
      ...(invitedBy ? { invitedBy } : {}),
    },
  };
}

function memberUpdated(userId: string, role: Role, by: string): PendingEvent<'member_updated'> {
  return { type: 'member_updated', actorId: by, body: { userId, role, by } };
}
