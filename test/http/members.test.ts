import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import {
  events,
  expectError,
  expectOk,
  getRoom,
  history,
  join,
  joinedRooms,
  members,
  newUsers,
  roleOf,
  send,
  setRole,
} from './http-helpers.js';

for (const backend of await availableBackends()) {
  describe(`room members API (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    const users = (n: number) => newUsers(t, n);
    const invite = (by: TestUser, roomId: string, ...who: TestUser[]) =>
      t.api('POST', `/v1/chat/rooms/${roomId}/invite`, {
        token: by.token,
        body: { userIds: who.map((u) => u.userId) },
      });

    describe('invite', () => {
      it('adds users to a private room, who then see it', async () => {
        const [alice, bob, carol] = await users(3);
        const room = await t.newRoom(alice, { type: 'private' });
        const added = expectOk(await invite(alice, room.roomId, bob));
        expect(added.members).toEqual([
          expect.objectContaining({
            userId: bob.userId,
            username: bob.username,
            role: 'member',
            isBot: false,
          }),
        ]);
        expect(await getRoom(t, bob, room.roomId)).toMatchObject({
          isJoined: true,
          role: 'member',
          memberCount: 2,
        });
        expect((await joinedRooms(t, bob)).map((r) => r.roomId)).toEqual([room.roomId]);
        const [joinedEvt] = (await events(t, alice, room.roomId)).slice(-1);
        expect(joinedEvt).toMatchObject({
          type: 'user_joined',
          user: { userId: bob.userId },
          invitedBy: alice.userId,
        });

        // Invites are on by default, so a plain member may invite too.
        expectOk(await invite(bob, room.roomId, carol));
        expect((await getRoom(t, alice, room.roomId)).memberCount).toBe(3);
      });

      it('is idempotent for existing members', async () => {
        const [alice, bob] = await users(2);
        const room = await t.newRoom(alice, { type: 'group' });
        expectOk(await invite(alice, room.roomId, bob));
        const before = await getRoom(t, alice, room.roomId);
        const again = expectOk(await invite(alice, room.roomId, bob, bob));
        expect(again.members.map((m: any) => m.userId)).toEqual([bob.userId]);
        expect(await getRoom(t, alice, room.roomId)).toMatchObject({
          memberCount: before.memberCount,
          lastSeq: before.lastSeq,
        });
      });

      it('with allowInvites off: members get 403, admins may invite', async () => {
        const [alice, bob, carol, dave, erin] = await users(5);
        const room = await t.newRoom(alice, { type: 'private', allowInvites: false });
        expectOk(await invite(alice, room.roomId, bob, carol));
        const before = await getRoom(t, alice, room.roomId);

        expectError(await invite(bob, room.roomId, dave), 403, 'FORBIDDEN');
        await setRole(t, alice, room.roomId, carol, 'moderator');
        expectError(await invite(carol, room.roomId, dave), 403, 'FORBIDDEN');
        expect(await getRoom(t, alice, room.roomId)).toMatchObject({
          memberCount: before.memberCount,
          lastSeq: before.lastSeq + 1, // only carol's role change
        });
        expect(await joinedRooms(t, dave)).toEqual([]);

        await setRole(t, alice, room.roomId, bob, 'admin');
        expectOk(await invite(bob, room.roomId, dave));
        expectOk(await invite(alice, room.roomId, erin));
        expect(await roleOf(t, alice, room.roomId, dave)).toBe('member');
        expect(await roleOf(t, alice, room.roomId, erin)).toBe('member');
      });

      it('refuses unknown users and banned users, adding nobody', async () => {
        const [alice, bob, carol] = await users(3);
        const room = await t.newRoom(alice, { type: 'private' });
        expectOk(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/bans`, {
            token: alice.token,
            body: { userId: carol.userId },
          }),
        );
        const before = await getRoom(t, alice, room.roomId);

        const unknown = await t.api('POST', `/v1/chat/rooms/${room.roomId}/invite`, {
          token: alice.token,
          body: { userIds: [bob.userId, 'usr_ghost'] },
        });
        expectError(unknown, 404, 'USER_NOT_FOUND');
        expectError(await invite(alice, room.roomId, bob, carol), 403, 'BANNED');

        expect(await getRoom(t, alice, room.roomId)).toMatchObject({
          memberCount: 1,
          lastSeq: before.lastSeq,
        });
        expect(await joinedRooms(t, bob)).toEqual([]);
        expect(await joinedRooms(t, carol)).toEqual([]);
      });

      it('refuses invites to direct rooms and by non-members', async () => {
        const [alice, bob, carol] = await users(3);
        const dm = expectOk(
          await t.api('POST', '/v1/chat/direct', { token: alice.token, body: { userId: bob.userId } }),
        );
        expectError(await invite(alice, dm.roomId, carol), 403, 'FORBIDDEN');
        expect((await getRoom(t, alice, dm.roomId)).memberCount).toBe(2);

        const pub = await t.newRoom(alice);
        expectError(await invite(carol, pub.roomId, bob), 403, 'NOT_A_MEMBER');
        const priv = await t.newRoom(alice, { type: 'private' });
        expectError(await invite(carol, priv.roomId, bob), 404, 'ROOM_NOT_FOUND');
        expect((await getRoom(t, alice, pub.roomId)).memberCount).toBe(1);
        expect((await getRoom(t, alice, priv.roomId)).memberCount).toBe(1);
      });
    });

    describe('members list', () => {
      it('lists members with roles and pagination', async () => {
        const [alice, bob, carol, dave] = await users(4);
        const room = await t.newRoom(alice);
        for (const u of [bob, carol, dave]) await join(t, u, room.roomId);
        await setRole(t, alice, room.roomId, bob, 'moderator');

        const all = expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/members`, { token: dave.token }),
        );
        expect(all.pagination).toEqual({ total: 4, limit: 20, offset: 0, hasMore: false });
        expect(all.members).toHaveLength(4);
        const byId = Object.fromEntries(all.members.map((m: any) => [m.userId, m]));
        expect(byId[alice.userId]).toMatchObject({ role: 'owner', username: alice.username });
        expect(byId[bob.userId]).toMatchObject({ role: 'moderator' });
        expect(byId[carol.userId]).toMatchObject({ role: 'member' });
        for (const m of all.members) {
          expect(m).toMatchObject({
            userId: expect.any(String),
            username: expect.any(String),
            displayName: expect.any(String),
            avatar: null,
            role: expect.any(String),
            joinedAt: expect.any(String),
            readSeq: expect.any(Number),
            deliveredSeq: expect.any(Number),
            isBot: false,
          });
        }

        const page1 = expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/members?limit=3`, { token: alice.token }),
        );
        const page2 = expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/members?limit=3&offset=3`, {
            token: alice.token,
          }),
        );
        expect(page1.pagination).toEqual({ total: 4, limit: 3, offset: 0, hasMore: true });
        expect(page2.pagination).toEqual({ total: 4, limit: 3, offset: 3, hasMore: false });
        expect([...page1.members, ...page2.members].map((m) => m.userId)).toEqual(
          all.members.map((m: any) => m.userId),
        );

        // Anyone may list a public room's members.
        const outsider = await t.newUser();
        expect(await members(t, outsider, room.roomId)).toHaveLength(4);
      });
    });

    describe('roles', () => {
      /** alice owner, bob admin, carol moderator, dave and erin members. */
      async function staffedRoom() {
        const [alice, bob, carol, dave, erin] = await users(5);
        const room = await t.newRoom(alice);
        for (const u of [bob, carol, dave, erin]) await join(t, u, room.roomId);
        expect(await setRole(t, alice, room.roomId, bob, 'admin')).toMatchObject({
          userId: bob.userId,
          role: 'admin',
        });
        await setRole(t, alice, room.roomId, carol, 'moderator');
        return { room, alice, bob, carol, dave, erin };
      }
      const patchRole = (by: TestUser, roomId: string, target: TestUser | string, role: unknown) =>
        t.api(
          'PATCH',
          `/v1/chat/rooms/${roomId}/members/${typeof target === 'string' ? target : target.userId}`,
          {
            token: by.token,
            body: { role },
          },
        );

      it('lets admins manage roles below their own', async () => {
        const { room, alice, bob, carol, dave } = await staffedRoom();
        expect(await setRole(t, bob, room.roomId, dave, 'moderator')).toMatchObject({ role: 'moderator' });
        expect(await setRole(t, bob, room.roomId, carol, 'member')).toMatchObject({ role: 'member' });
        const [evt] = (await events(t, alice, room.roomId)).slice(-1);
        expect(evt).toMatchObject({
          type: 'member_updated',
          userId: carol.userId,
          role: 'member',
          by: bob.userId,
        });
        // Admins may step down themselves.
        expect(await setRole(t, bob, room.roomId, bob, 'moderator')).toMatchObject({ role: 'moderator' });
      });

      it('refuses to manage an equal or higher role, or to promote to one', async () => {
        const { room, alice, bob, carol, dave, erin } = await staffedRoom();
        await setRole(t, alice, room.roomId, erin, 'admin');
        const before = await getRoom(t, alice, room.roomId);

        expectError(await patchRole(bob, room.roomId, erin, 'member'), 403, 'FORBIDDEN'); // equal
        expectError(await patchRole(bob, room.roomId, alice, 'member'), 403, 'FORBIDDEN'); // higher
        expectError(await patchRole(bob, room.roomId, dave, 'admin'), 403, 'FORBIDDEN'); // to own rank
        expectError(await patchRole(bob, room.roomId, dave, 'owner'), 403, 'FORBIDDEN'); // only the owner
        expectError(await patchRole(carol, room.roomId, dave, 'member'), 403, 'FORBIDDEN'); // moderator
        expectError(await patchRole(dave, room.roomId, erin, 'member'), 403, 'FORBIDDEN'); // member
        expectError(await patchRole(dave, room.roomId, dave, 'admin'), 403, 'FORBIDDEN'); // self-promotion
        expectError(await patchRole(alice, room.roomId, alice, 'member'), 403, 'FORBIDDEN'); // owner must transfer

        expect(await getRoom(t, alice, room.roomId)).toMatchObject({ lastSeq: before.lastSeq });
        const roles = Object.fromEntries(
          (await members(t, alice, room.roomId)).map((m) => [m.userId, m.role]),
        );
        expect(roles).toEqual({
          [alice.userId]: 'owner',
          [bob.userId]: 'admin',
          [carol.userId]: 'moderator',
          [dave.userId]: 'member',
          [erin.userId]: 'admin',
        });
      });

      it('answers 404 for non-members and 400 for unknown roles', async () => {
        const { room, alice } = await staffedRoom();
        const outsider = await t.newUser();
        expectError(await patchRole(alice, room.roomId, outsider, 'moderator'), 404, 'USER_NOT_FOUND');
        expectError(await patchRole(alice, room.roomId, 'usr_ghost', 'moderator'), 404, 'USER_NOT_FOUND');
        expectError(await patchRole(alice, room.roomId, outsider, 'superuser'), 400, 'VALIDATION_FAILED');
        expectError(await patchRole(outsider, room.roomId, alice, 'member'), 403, 'NOT_A_MEMBER');
      });

      it('transfers ownership: the new owner rules, the old one becomes admin', async () => {
        const { room, alice, bob, dave } = await staffedRoom();
        const before = await getRoom(t, alice, room.roomId);
        expect(await setRole(t, alice, room.roomId, dave, 'owner')).toMatchObject({
          userId: dave.userId,
          role: 'owner',
        });
        expect(await roleOf(t, alice, room.roomId, alice)).toBe('admin');
        expect(await roleOf(t, alice, room.roomId, dave)).toBe('owner');
        const log = await events(t, alice, room.roomId, before.lastSeq);
        expect(log).toMatchObject([
          { type: 'member_updated', userId: alice.userId, role: 'admin' },
          { type: 'member_updated', userId: dave.userId, role: 'owner' },
        ]);

        // The former owner is now an admin: cannot touch the owner or other admins.
        expectError(await patchRole(alice, room.roomId, dave, 'member'), 403, 'FORBIDDEN');
        expectError(await patchRole(alice, room.roomId, bob, 'member'), 403, 'FORBIDDEN');
        expectError(await patchRole(alice, room.roomId, alice, 'owner'), 403, 'FORBIDDEN');
        // The new owner can demote them.
        expect(await setRole(t, dave, room.roomId, alice, 'member')).toMatchObject({ role: 'member' });
      });
    });

    describe('kick', () => {
      it('lets a moderator remove a member, who may come back', async () => {
        const [alice, carol, dave] = await users(3);
        const room = await t.newRoom(alice);
        for (const u of [carol, dave]) await join(t, u, room.roomId);
        await setRole(t, alice, room.roomId, carol, 'moderator');

        const r = await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/members/${dave.userId}`, {
          token: carol.token,
        });
        expect(expectOk(r)).toEqual({ ok: true });
        expect(await roleOf(t, alice, room.roomId, dave)).toBeUndefined();
        expect(await getRoom(t, alice, room.roomId)).toMatchObject({ memberCount: 2 });
        const [evt] = (await events(t, alice, room.roomId)).slice(-1);
        expect(evt).toMatchObject({
          type: 'user_left',
          userId: dave.userId,
          reason: 'kicked',
          by: carol.userId,
        });
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
            token: dave.token,
            body: { content: 'hi' },
          }),
          403,
          'NOT_A_MEMBER',
        );
        await join(t, dave, room.roomId);
      });

      it('refuses kicks of equal or higher roles, by members, and of non-members', async () => {
        const [alice, bob, carol, carol2, dave, erin] = await users(6);
        const room = await t.newRoom(alice);
        for (const u of [bob, carol, carol2, dave, erin]) await join(t, u, room.roomId);
        await setRole(t, alice, room.roomId, bob, 'admin');
        await setRole(t, alice, room.roomId, carol, 'moderator');
        await setRole(t, alice, room.roomId, carol2, 'moderator');
        const before = await getRoom(t, alice, room.roomId);
        const kick = (by: TestUser, target: TestUser | string) =>
          t.api(
            'DELETE',
            `/v1/chat/rooms/${room.roomId}/members/${typeof target === 'string' ? target : target.userId}`,
            {
              token: by.token,
            },
          );

        expectError(await kick(carol, carol2), 403, 'FORBIDDEN');
        expectError(await kick(carol, bob), 403, 'FORBIDDEN');
        expectError(await kick(bob, alice), 403, 'FORBIDDEN');
        expectError(await kick(dave, erin), 403, 'FORBIDDEN');
        expectError(await kick(carol, 'usr_ghost'), 404, 'USER_NOT_FOUND');
        expect(await getRoom(t, alice, room.roomId)).toMatchObject({
          memberCount: 6,
          lastSeq: before.lastSeq,
        });

        // An admin can remove a moderator.
        expectOk(await kick(bob, carol));
        expect(await roleOf(t, alice, room.roomId, carol)).toBeUndefined();
      });
    });

    describe('bans', () => {
      it('bans a member: removed, cannot rejoin, read, send or see the room; unban restores', async () => {
        const [alice, carol, dave] = await users(3);
        const room = await t.newRoom(alice);
        for (const u of [carol, dave]) await join(t, u, room.roomId);
        await setRole(t, alice, room.roomId, carol, 'moderator');
        await send(t, dave, room.roomId, 'before the ban');
        expect((await joinedRooms(t, dave)).map((r) => r.roomId)).toEqual([room.roomId]);

        const banned = await t.api('POST', `/v1/chat/rooms/${room.roomId}/bans`, {
          token: carol.token,
          body: { userId: dave.userId, reason: 'spam' },
        });
        expect(expectOk(banned)).toEqual({ ok: true });
        expect(await roleOf(t, alice, room.roomId, dave)).toBeUndefined();
        const [evt] = (await events(t, alice, room.roomId)).slice(-1);
        expect(evt).toMatchObject({
          type: 'user_left',
          userId: dave.userId,
          reason: 'banned',
          by: carol.userId,
        });

        const bans = expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/bans`, { token: carol.token }),
        );
        expect(bans.bans).toEqual([
          {
            userId: dave.userId,
            bannedBy: carol.userId,
            reason: 'spam',
            createdAt: expect.any(String),
            expiresAt: null,
          },
        ]);

        const headBefore = (await getRoom(t, alice, room.roomId)).lastSeq;
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: dave.token }),
          403,
          'BANNED',
        );
        expectError(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/messages`, { token: dave.token }),
          403,
          'BANNED',
        );
        expectError(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/events`, { token: dave.token }),
          403,
          'BANNED',
        );
        expectError(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}`, { token: dave.token }),
          403,
          'BANNED',
        );
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
            token: dave.token,
            body: { content: 'x' },
          }),
          403,
          'BANNED',
        );
        expect((await getRoom(t, alice, room.roomId)).lastSeq).toBe(headBefore);
        expect(await joinedRooms(t, dave)).toEqual([]);
        const discover = expectOk(
          await t.api('GET', '/v1/chat/rooms?type=public&limit=100', { token: dave.token }),
        );
        expect(discover.rooms.map((r: any) => r.roomId)).not.toContain(room.roomId);

        // Lift it.
        expectOk(
          await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/bans/${dave.userId}`, { token: carol.token }),
        );
        expect(
          expectOk(await t.api('GET', `/v1/chat/rooms/${room.roomId}/bans`, { token: alice.token })).bans,
        ).toEqual([]);
        expectError(
          await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/bans/${dave.userId}`, { token: carol.token }),
          404,
          'NOT_FOUND',
        );
        await join(t, dave, room.roomId);
        expect((await history(t, dave, room.roomId)).map((m) => m.content)).toEqual(['before the ban']);
      });

      it('bans a non-member in advance, with an expiry', async () => {
        const [alice, eve] = await users(2);
        const room = await t.newRoom(alice);
        expectOk(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/bans`, {
            token: alice.token,
            body: { userId: eve.userId, durationSeconds: 3600 },
          }),
        );
        const [ban] = expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/bans`, { token: alice.token }),
        ).bans;
        expect(ban).toMatchObject({ userId: eve.userId, reason: null, expiresAt: expect.any(String) });
        expect(Date.parse(ban.expiresAt) - Date.parse(ban.createdAt)).toBe(3_600_000);
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: eve.token }),
          403,
          'BANNED',
        );
        expect((await getRoom(t, alice, room.roomId)).memberCount).toBe(1);
      });

      it('refuses bans by members, of higher roles, of yourself and of unknown users', async () => {
        const [alice, bob, carol, dave] = await users(4);
        const room = await t.newRoom(alice);
        for (const u of [bob, carol, dave]) await join(t, u, room.roomId);
        await setRole(t, alice, room.roomId, bob, 'admin');
        await setRole(t, alice, room.roomId, carol, 'moderator');
        const ban = (by: TestUser, userId: string) =>
          t.api('POST', `/v1/chat/rooms/${room.roomId}/bans`, { token: by.token, body: { userId } });

        expectError(await ban(dave, bob.userId), 403, 'FORBIDDEN');
        expectError(await ban(carol, bob.userId), 403, 'FORBIDDEN');
        expectError(await ban(bob, alice.userId), 403, 'FORBIDDEN');
        expectError(await ban(carol, carol.userId), 400, 'VALIDATION_FAILED');
        expectError(await ban(carol, 'usr_ghost'), 404, 'USER_NOT_FOUND');
        expectError(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/bans`, { token: dave.token }),
          403,
          'FORBIDDEN',
        );
        expectError(
          await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/bans/${dave.userId}`, { token: dave.token }),
          403,
          'FORBIDDEN',
        );

        expect(
          expectOk(await t.api('GET', `/v1/chat/rooms/${room.roomId}/bans`, { token: carol.token })).bans,
        ).toEqual([]);
        expect(await getRoom(t, alice, room.roomId)).toMatchObject({ memberCount: 4 });
      });

      it('makes a private room vanish for the banned user', async () => {
        const [alice, bob] = await users(2);
        const room = await t.newRoom(alice, { type: 'private', memberIds: [bob.userId] });
        expectOk(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/bans`, {
            token: alice.token,
            body: { userId: bob.userId },
          }),
        );
        expect(await joinedRooms(t, bob)).toEqual([]);
        expectError(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}`, { token: bob.token }),
          404,
          'ROOM_NOT_FOUND',
        );
        expectError(await invite(alice, room.roomId, bob), 403, 'BANNED');
      });
    });
  });
}
