import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, uniqueName } from '../helpers/test-app.js';
import {
  events,
  expectError,
  expectOk,
  getRoom,
  join,
  joinedRooms,
  MISSING_ROOM,
  members,
  roleOf,
  send,
  setRole,
} from './http-helpers.js';

for (const backend of await availableBackends()) {
  describe(`rooms API (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    describe('create', () => {
      it.each([
        ['public', 10_000],
        ['private', 1_000],
        ['group', 50],
        ['announcement', 100_000],
      ])('creates a %s room with the caller as owner', async (type, defaultMax) => {
        const alice = await t.newUser();
        const name = uniqueName('room');
        const r = await t.api('POST', '/v1/chat/rooms', {
          token: alice.token,
          body: { name, type, description: '  about it  ' },
        });
        const room = expectOk(r, 201);
        expect(room).toMatchObject({
          roomId: expect.stringMatching(/^room_/),
          name,
          description: 'about it',
          type,
          avatar: null,
          createdBy: alice.userId,
          memberCount: 1,
          maxMembers: defaultMax,
          isJoined: true,
          role: 'owner',
          unreadCount: 0,
          settings: { allowInvites: true, requireApproval: false, moderationLevel: 'none', enableAI: false },
        });
        // room_created + the owner's user_joined; the creator has read all of it.
        expect(room.lastSeq).toBe(2);
        expect(room.readSeq).toBe(2);

        const got = await getRoom(t, alice, room.roomId);
        expect(got).toMatchObject({ roomId: room.roomId, type, role: 'owner', memberCount: 1 });
        expect((await members(t, alice, room.roomId)).map((m) => [m.userId, m.role])).toEqual([
          [alice.userId, 'owner'],
        ]);
        const log = await events(t, alice, room.roomId);
        expect(log.map((e) => e.type)).toEqual(['room_created', 'user_joined']);
      });

      it('adds memberIds on creation and applies maxMembers, allowInvites and settings', async () => {
        const [alice, bob, carol] = await Promise.all([t.newUser(), t.newUser(), t.newUser()]);
        const room = await t.newRoom(alice, {
          type: 'group',
          memberIds: [bob.userId, carol.userId, bob.userId, alice.userId],
          maxMembers: 5,
          allowInvites: false,
          settings: { moderationLevel: 'strict' },
        });
        expect(room).toMatchObject({
          memberCount: 3,
          maxMembers: 5,
          settings: { allowInvites: false, moderationLevel: 'strict', requireApproval: false },
        });
        const roles = Object.fromEntries(
          (await members(t, alice, room.roomId)).map((m) => [m.userId, m.role]),
        );
        expect(roles).toEqual({ [alice.userId]: 'owner', [bob.userId]: 'member', [carol.userId]: 'member' });
        // Added members see the room and it is not unread for them (no messages yet).
        const bobsView = await getRoom(t, bob, room.roomId);
        expect(bobsView).toMatchObject({ isJoined: true, role: 'member', unreadCount: 0 });
      });

      it('opens a direct room with POST /direct, the same one from either side', async () => {
        const [alice, bob] = await Promise.all([t.newUser(), t.newUser()]);
        const first = expectOk(
          await t.api('POST', '/v1/chat/direct', { token: alice.token, body: { userId: bob.userId } }),
        );
        expect(first).toMatchObject({
          type: 'direct',
          memberCount: 2,
          maxMembers: 2,
          isJoined: true,
          role: 'member',
        });
        const again = expectOk(
          await t.api('POST', '/v1/chat/direct', { token: alice.token, body: { userId: bob.userId } }),
        );
        const fromBob = expectOk(
          await t.api('POST', '/v1/chat/direct', { token: bob.token, body: { userId: alice.userId } }),
        );
        expect(again.roomId).toBe(first.roomId);
        expect(fromBob.roomId).toBe(first.roomId);
        // Reopening logs nothing new.
        expect(fromBob.lastSeq).toBe(first.lastSeq);
        expect((await joinedRooms(t, alice, 'type=direct')).map((r) => r.roomId)).toEqual([first.roomId]);
        expect((await joinedRooms(t, bob, 'type=direct')).map((r) => r.roomId)).toEqual([first.roomId]);
        expect((await members(t, bob, first.roomId)).map((m) => m.userId).sort()).toEqual(
          [alice.userId, bob.userId].sort(),
        );
      });

      it('refuses a direct room with yourself or an unknown user, creating nothing', async () => {
        const alice = await t.newUser();
        expectError(
          await t.api('POST', '/v1/chat/direct', { token: alice.token, body: { userId: alice.userId } }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await t.api('POST', '/v1/chat/direct', { token: alice.token, body: { userId: 'usr_nobody' } }),
          404,
          'USER_NOT_FOUND',
        );
        expect(await joinedRooms(t, alice)).toEqual([]);
      });

      it('does not create direct rooms through POST /rooms', async () => {
        const alice = await t.newUser();
        expectError(
          await t.api('POST', '/v1/chat/rooms', { token: alice.token, body: { name: 'dm', type: 'direct' } }),
          400,
          'VALIDATION_FAILED',
        );
        expect(await joinedRooms(t, alice)).toEqual([]);
      });

      it('refuses more initial members than maxMembers, creating nothing', async () => {
        const [alice, bob, carol] = await Promise.all([t.newUser(), t.newUser(), t.newUser()]);
        const r = await t.api('POST', '/v1/chat/rooms', {
          token: alice.token,
          body: { name: 'tiny', type: 'group', maxMembers: 2, memberIds: [bob.userId, carol.userId] },
        });
        expectError(r, 409, 'ROOM_FULL');
        expect(await joinedRooms(t, alice)).toEqual([]);
        expect(await joinedRooms(t, bob)).toEqual([]);
      });

      it('refuses unknown memberIds, creating nothing', async () => {
        const alice = await t.newUser();
        const r = await t.api('POST', '/v1/chat/rooms', {
          token: alice.token,
          body: { name: 'ghosts', type: 'private', memberIds: ['usr_ghost'] },
        });
        expectError(r, 404, 'USER_NOT_FOUND');
        expect(await joinedRooms(t, alice)).toEqual([]);
      });
    });

    describe('list', () => {
      it('filters by type and by membership', async () => {
        const [alice, carol] = await Promise.all([t.newUser(), t.newUser()]);
        const pub = await t.newRoom(alice, { type: 'public' });
        const priv = await t.newRoom(alice, { type: 'private' });
        const group = await t.newRoom(alice, { type: 'group' });
        const ann = await t.newRoom(alice, { type: 'announcement' });

        for (const [type, room] of [
          ['public', pub],
          ['private', priv],
          ['group', group],
          ['announcement', ann],
        ] as const) {
          const mine = await joinedRooms(t, alice, `type=${type}`);
          expect(mine.map((r) => r.roomId)).toEqual([room.roomId]);
        }
        const all = await joinedRooms(t, alice);
        expect(all.map((r) => r.roomId).sort()).toEqual(
          [pub.roomId, priv.roomId, group.roomId, ann.roomId].sort(),
        );
        expect(all.every((r) => r.isJoined && r.role === 'owner')).toBe(true);

        // Without `joined`, carol discovers public and announcement rooms but not private ones.
        const discovered = expectOk(await t.api('GET', '/v1/chat/rooms?limit=100', { token: carol.token }));
        const ids = discovered.rooms.map((r: any) => r.roomId);
        expect(ids).toContain(pub.roomId);
        expect(ids).toContain(ann.roomId);
        expect(ids).not.toContain(priv.roomId);
        expect(ids).not.toContain(group.roomId);
        const listedPub = discovered.rooms.find((r: any) => r.roomId === pub.roomId);
        expect(listedPub).toMatchObject({ isJoined: false, role: null, unreadCount: 0 });

        const publicOnly = expectOk(
          await t.api('GET', '/v1/chat/rooms?type=public&limit=100', { token: carol.token }),
        );
        expect(publicOnly.rooms.length).toBeGreaterThan(0);
        expect(publicOnly.rooms.every((r: any) => r.type === 'public')).toBe(true);
        expect(publicOnly.rooms.map((r: any) => r.roomId)).toContain(pub.roomId);

        expect(await joinedRooms(t, carol)).toEqual([]);
        await join(t, carol, pub.roomId);
        expect((await joinedRooms(t, carol)).map((r) => r.roomId)).toEqual([pub.roomId]);
        const joinedFalse = expectOk(
          await t.api('GET', '/v1/chat/rooms?joined=false&type=announcement&limit=100', {
            token: carol.token,
          }),
        );
        expect(joinedFalse.rooms.map((r: any) => r.roomId)).toContain(ann.roomId);
      });

      it('paginates with total, limit, offset and hasMore', async () => {
        const alice = await t.newUser();
        const created: string[] = [];
        for (let i = 0; i < 5; i++) created.push((await t.newRoom(alice, { type: 'private' })).roomId);

        const seen: string[] = [];
        for (const [offset, count, hasMore] of [
          [0, 2, true],
          [2, 2, true],
          [4, 1, false],
        ] as const) {
          const page = expectOk(
            await t.api('GET', `/v1/chat/rooms?joined=true&limit=2&offset=${offset}`, { token: alice.token }),
          );
          expect(page.pagination).toEqual({ total: 5, limit: 2, offset, hasMore });
          expect(page.rooms).toHaveLength(count);
          seen.push(...page.rooms.map((r: any) => r.roomId));
        }
        expect(new Set(seen).size).toBe(5);
        expect([...seen].sort()).toEqual([...created].sort());

        const beyond = expectOk(
          await t.api('GET', '/v1/chat/rooms?joined=true&limit=2&offset=10', { token: alice.token }),
        );
        expect(beyond).toEqual({ rooms: [], pagination: { total: 5, limit: 2, offset: 10, hasMore: false } });

        const defaults = expectOk(await t.api('GET', '/v1/chat/rooms?joined=true', { token: alice.token }));
        expect(defaults.pagination).toEqual({ total: 5, limit: 20, offset: 0, hasMore: false });

        for (const q of ['limit=0', 'limit=101', 'offset=-1', 'limit=abc', 'type=bogus', 'joined=maybe']) {
          expectError(
            await t.api('GET', `/v1/chat/rooms?${q}`, { token: alice.token }),
            400,
            'VALIDATION_FAILED',
          );
        }
      });

      it('reports unreadCount and lastActivity, newest activity first', async () => {
        const [alice, bob] = await Promise.all([t.newUser(), t.newUser()]);
        const quiet = await t.newRoom(alice);
        const busy = await t.newRoom(alice);
        await join(t, bob, quiet.roomId);
        await join(t, bob, busy.roomId);

        let listed = await joinedRooms(t, bob);
        expect(listed.map((r) => r.unreadCount)).toEqual([0, 0]);

        await send(t, alice, busy.roomId, 'one');
        await send(t, alice, busy.roomId, 'two');
        const last = await send(t, alice, busy.roomId, 'three');

        listed = await joinedRooms(t, bob);
        const busyView = listed.find((r) => r.roomId === busy.roomId);
        const quietView = listed.find((r) => r.roomId === quiet.roomId);
        expect(busyView).toMatchObject({ unreadCount: 3, lastSeq: last.seq, lastActivity: last.timestamp });
        expect(quietView).toMatchObject({ unreadCount: 0 });
        // Sorted by lastActivity, newest first.
        const times = listed.map((r) => Date.parse(r.lastActivity));
        expect([...times].sort((a, b) => b - a)).toEqual(times);
        // The sender has nothing unread.
        expect((await joinedRooms(t, alice)).find((r) => r.roomId === busy.roomId)).toMatchObject({
          unreadCount: 0,
          readSeq: last.seq,
        });

        // Reading moves the count down.
        const read = expectOk(
          await t.api('POST', `/v1/chat/rooms/${busy.roomId}/read`, {
            token: bob.token,
            body: { seq: last.seq - 1 },
          }),
        );
        expect(read).toMatchObject({ readSeq: last.seq - 1, unreadCount: 1 });
        expect((await joinedRooms(t, bob)).find((r) => r.roomId === busy.roomId)?.unreadCount).toBe(1);
        expect((await getRoom(t, bob, busy.roomId)).unreadCount).toBe(1);
      });
    });

    describe('get', () => {
      it('shows membership for members and non-members, 404 for unknown ids', async () => {
        const [alice, bob] = await Promise.all([t.newUser(), t.newUser()]);
        const room = await t.newRoom(alice, { description: 'desc' });
        expect(await getRoom(t, alice, room.roomId)).toMatchObject({
          roomId: room.roomId,
          name: room.name,
          description: 'desc',
          isJoined: true,
          role: 'owner',
        });
        expect(await getRoom(t, bob, room.roomId)).toMatchObject({
          roomId: room.roomId,
          isJoined: false,
          role: null,
          unreadCount: 0,
        });
        expectError(
          await t.api('GET', `/v1/chat/rooms/${MISSING_ROOM}`, { token: bob.token }),
          404,
          'ROOM_NOT_FOUND',
        );
      });
    });

    describe('update', () => {
      it('lets admins change name, description and settings, merging partial settings', async () => {
        const [alice, bob] = await Promise.all([t.newUser(), t.newUser()]);
        const room = await t.newRoom(alice);
        await join(t, bob, room.roomId);
        const before = await getRoom(t, alice, room.roomId);

        const updated = expectOk(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
            token: alice.token,
            body: {
              name: 'Renamed',
              description: 'New topic',
              avatar: 'https://example.com/a.png',
              settings: { allowInvites: false, moderationLevel: 'strict' },
            },
          }),
        );
        expect(updated).toMatchObject({
          name: 'Renamed',
          description: 'New topic',
          avatar: 'https://example.com/a.png',
          settings: { ...before.settings, allowInvites: false, moderationLevel: 'strict' },
          lastSeq: before.lastSeq + 1,
        });
        expect(await getRoom(t, bob, room.roomId)).toMatchObject({
          name: 'Renamed',
          settings: updated.settings,
        });
        const [evt] = await events(t, alice, room.roomId, before.lastSeq);
        expect(evt).toMatchObject({ type: 'room_updated', actorId: alice.userId, room: { name: 'Renamed' } });

        // An admin may too.
        await setRole(t, alice, room.roomId, bob, 'admin');
        expectOk(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
            token: bob.token,
            body: { settings: { enableAI: true } },
          }),
        );
        expect((await getRoom(t, alice, room.roomId)).settings).toMatchObject({
          enableAI: true,
          allowInvites: false,
          moderationLevel: 'strict',
        });
      });

      it('rejects members, moderators and non-members without changing anything', async () => {
        const [alice, bob, carol, dave] = await Promise.all([
          t.newUser(),
          t.newUser(),
          t.newUser(),
          t.newUser(),
        ]);
        const room = await t.newRoom(alice);
        await join(t, bob, room.roomId);
        await join(t, carol, room.roomId);
        await setRole(t, alice, room.roomId, carol, 'moderator');
        const before = await getRoom(t, alice, room.roomId);

        const patch = (u: typeof bob) =>
          t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, { token: u.token, body: { name: 'Hijacked' } });
        expectError(await patch(bob), 403, 'FORBIDDEN');
        expectError(await patch(carol), 403, 'FORBIDDEN');
        expectError(await patch(dave), 403, 'NOT_A_MEMBER');

        expect(await getRoom(t, alice, room.roomId)).toMatchObject({
          name: before.name,
          lastSeq: before.lastSeq,
          updatedAt: before.updatedAt,
        });
      });

      it('refuses maxMembers below the member count', async () => {
        const [alice, bob, carol] = await Promise.all([t.newUser(), t.newUser(), t.newUser()]);
        const room = await t.newRoom(alice);
        await join(t, bob, room.roomId);
        await join(t, carol, room.roomId);
        const before = await getRoom(t, alice, room.roomId);

        const r = await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
          token: alice.token,
          body: { maxMembers: 2 },
        });
        expectError(r, 400, 'VALIDATION_FAILED');
        expect(await getRoom(t, alice, room.roomId)).toMatchObject({
          maxMembers: before.maxMembers,
          lastSeq: before.lastSeq,
        });

        // Exactly the member count is fine, and then the room is full.
        const ok = expectOk(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
            token: alice.token,
            body: { maxMembers: 3 },
          }),
        );
        expect(ok).toMatchObject({ maxMembers: 3, memberCount: 3 });
        const dave = await t.newUser();
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: dave.token }),
          409,
          'ROOM_FULL',
        );
      });

      it('has no settings for direct rooms', async () => {
        const [alice, bob] = await Promise.all([t.newUser(), t.newUser()]);
        const dm = expectOk(
          await t.api('POST', '/v1/chat/direct', { token: alice.token, body: { userId: bob.userId } }),
        );
        expectError(
          await t.api('PATCH', `/v1/chat/rooms/${dm.roomId}`, { token: alice.token, body: { name: 'x' } }),
          403,
          'FORBIDDEN',
        );
        expect((await getRoom(t, alice, dm.roomId)).lastSeq).toBe(dm.lastSeq);
      });
    });

    describe('join and leave', () => {
      it('joins and leaves a public room', async () => {
        const [alice, bob] = await Promise.all([t.newUser(), t.newUser()]);
        const room = await t.newRoom(alice);

        const joined = await join(t, bob, room.roomId);
        expect(joined).toMatchObject({ isJoined: true, role: 'member', memberCount: 2, unreadCount: 0 });
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: bob.token }),
          409,
          'ALREADY_MEMBER',
        );
        expect((await getRoom(t, alice, room.roomId)).memberCount).toBe(2);

        const left = await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/leave`, { token: bob.token });
        expect(expectOk(left)).toEqual({ ok: true });
        expect(await getRoom(t, bob, room.roomId)).toMatchObject({ isJoined: false, memberCount: 1 });
        expectError(
          await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/leave`, { token: bob.token }),
          403,
          'NOT_A_MEMBER',
        );
        const log = await events(t, alice, room.roomId);
        expect(log.slice(-2)).toMatchObject([
          { type: 'user_joined', user: { userId: bob.userId }, role: 'member' },
          { type: 'user_left', userId: bob.userId, reason: 'left' },
        ]);
        // Leaving is not banning: bob may come back.
        await join(t, bob, room.roomId);
      });

      it('joins announcement rooms; rooms that need approval record a join request', async () => {
        const [alice, bob] = await Promise.all([t.newUser(), t.newUser()]);
        const ann = await t.newRoom(alice, { type: 'announcement' });
        expect(await join(t, bob, ann.roomId)).toMatchObject({ isJoined: true, role: 'member' });

        const gated = await t.newRoom(alice, { settings: { requireApproval: true } });
        expect(
          expectOk(await t.api('POST', `/v1/chat/rooms/${gated.roomId}/join`, { token: bob.token }), 202),
        ).toEqual({ status: 'pending' });
        expect((await getRoom(t, alice, gated.roomId)).memberCount).toBe(1);
      });

      it('cannot leave a direct room', async () => {
        const [alice, bob] = await Promise.all([t.newUser(), t.newUser()]);
        const dm = expectOk(
          await t.api('POST', '/v1/chat/direct', { token: alice.token, body: { userId: bob.userId } }),
        );
        expectError(
          await t.api('DELETE', `/v1/chat/rooms/${dm.roomId}/leave`, { token: alice.token }),
          403,
          'FORBIDDEN',
        );
        expect((await getRoom(t, alice, dm.roomId)).memberCount).toBe(2);
      });

      it('hands ownership on when the owner leaves: admin first, then moderator, then member', async () => {
        const [alice, bob, carol, dave] = await Promise.all([
          t.newUser(),
          t.newUser(),
          t.newUser(),
          t.newUser(),
        ]);
        const room = await t.newRoom(alice);
        for (const u of [bob, carol, dave]) await join(t, u, room.roomId);
        await setRole(t, alice, room.roomId, carol, 'admin');
        await setRole(t, alice, room.roomId, dave, 'moderator');

        expectOk(await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/leave`, { token: alice.token }));
        expect(await roleOf(t, bob, room.roomId, carol)).toBe('owner');
        expect(await roleOf(t, bob, room.roomId, alice)).toBeUndefined();
        const log = await events(t, bob, room.roomId);
        expect(log.slice(-2)).toMatchObject([
          { type: 'user_left', userId: alice.userId, reason: 'left' },
          { type: 'member_updated', userId: carol.userId, role: 'owner' },
        ]);

        expectOk(await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/leave`, { token: carol.token }));
        expect(await roleOf(t, bob, room.roomId, dave)).toBe('owner');

        expectOk(await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/leave`, { token: dave.token }));
        expect(await roleOf(t, bob, room.roomId, bob)).toBe('owner');
        expect(await getRoom(t, bob, room.roomId)).toMatchObject({ role: 'owner', memberCount: 1 });

        // The new owner has the owner's powers.
        expectOk(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
            token: bob.token,
            body: { name: 'Bob’s now' },
          }),
        );
      });
    });

    describe('member limit', () => {
      it('answers 409 ROOM_FULL when maxMembers is reached', async () => {
        const [alice, bob, carol] = await Promise.all([t.newUser(), t.newUser(), t.newUser()]);
        const room = await t.newRoom(alice, { maxMembers: 2 });
        await join(t, bob, room.roomId);
        const before = await getRoom(t, alice, room.roomId);

        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: carol.token }),
          409,
          'ROOM_FULL',
        );
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/invite`, {
            token: alice.token,
            body: { userIds: [carol.userId] },
          }),
          409,
          'ROOM_FULL',
        );
        expect(await getRoom(t, alice, room.roomId)).toMatchObject({
          memberCount: 2,
          lastSeq: before.lastSeq,
        });
        expect(await joinedRooms(t, carol)).toEqual([]);

        // A seat frees up when someone leaves.
        expectOk(await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/leave`, { token: bob.token }));
        await join(t, carol, room.roomId);
      });
    });
  });
}
