import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import {
  expectError,
  expectOk,
  getRoom,
  history,
  join,
  joinedRooms,
  MISSING_ROOM,
  members,
  newUsers,
  send,
  setRole,
} from './http-helpers.js';

/** Every room-scoped operation, as [method, path, body] for a room id and a message id. */
function roomOperations(roomId: string, messageId: string, userId: string): [string, string, unknown?][] {
  const r = `/v1/chat/rooms/${roomId}`;
  return [
    ['GET', r],
    ['PATCH', r, { name: 'x' }],
    ['POST', `${r}/join`],
    ['DELETE', `${r}/leave`],
    ['POST', `${r}/invite`, { userIds: [userId] }],
    ['GET', `${r}/members`],
    ['PATCH', `${r}/members/${userId}`, { role: 'moderator' }],
    ['DELETE', `${r}/members/${userId}`],
    ['GET', `${r}/bans`],
    ['POST', `${r}/bans`, { userId }],
    ['DELETE', `${r}/bans/${userId}`],
    ['GET', `${r}/messages`],
    ['POST', `${r}/messages`, { content: 'hello?' }],
    ['GET', `${r}/messages/${messageId}`],
    ['PATCH', `${r}/messages/${messageId}`, { content: 'x' }],
    ['DELETE', `${r}/messages/${messageId}`],
    ['PUT', `${r}/messages/${messageId}/reactions/ok`],
    ['DELETE', `${r}/messages/${messageId}/reactions/ok`],
    ['PUT', `${r}/messages/${messageId}/pin`],
    ['DELETE', `${r}/messages/${messageId}/pin`],
    ['GET', `${r}/pins`],
    ['POST', `${r}/read`, { seq: 1 }],
    ['GET', `${r}/events?after=0`],
  ];
}

for (const backend of await availableBackends()) {
  describe(`authorization (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    const users = (n: number) => newUsers(t, n);
    const call = (u: TestUser | undefined, [method, path, body]: [string, string, unknown?]) =>
      t.api(method, path, { token: u?.token, body });

    describe('rooms hidden from non-members', () => {
      async function hiddenRooms(alice: TestUser, bob: TestUser) {
        const priv = await t.newRoom(alice, { type: 'private', memberIds: [bob.userId] });
        const group = await t.newRoom(alice, { type: 'group', memberIds: [bob.userId] });
        const direct = expectOk(
          await t.api('POST', '/v1/chat/direct', { token: alice.token, body: { userId: bob.userId } }),
        );
        return { private: priv, group, direct };
      }

      it.each(['private', 'group', 'direct'] as const)(
        'a %s room answers every request of an outsider like a nonexistent room',
        async (kind) => {
          const [alice, bob, eve] = await users(3);
          const room = (await hiddenRooms(alice, bob))[kind];
          const msg = await send(t, alice, room.roomId, 'secret');
          const before = await getRoom(t, alice, room.roomId);

          const hiddenOps = roomOperations(room.roomId, msg.messageId, bob.userId);
          const missingOps = roomOperations(MISSING_ROOM, msg.messageId, bob.userId);
          for (const [i, op] of hiddenOps.entries()) {
            const hidden = await call(eve, op);
            const missing = await call(eve, missingOps[i]!);
            expect({ op, status: hidden.status, body: hidden.body }).toEqual({
              op,
              status: 404,
              body: { success: false, error: { code: 'ROOM_NOT_FOUND', message: 'Room not found' } },
            });
            expect({ status: missing.status, body: missing.body }).toEqual({
              status: 404,
              body: hidden.body,
            });
          }

          // Nothing changed, and the room is not listed for the outsider.
          const after = await getRoom(t, alice, room.roomId);
          expect(after).toMatchObject({
            lastSeq: before.lastSeq,
            memberCount: before.memberCount,
            name: before.name,
          });
          expect(
            (await history(t, alice, room.roomId)).map((m) => [m.content, m.isDeleted, m.isPinned]),
          ).toEqual([['secret', false, false]]);
          const listed = expectOk(await t.api('GET', '/v1/chat/rooms?limit=100', { token: eve.token }));
          expect(listed.rooms.map((r: any) => r.roomId)).not.toContain(room.roomId);
          const byType = expectOk(
            await t.api('GET', `/v1/chat/rooms?type=${kind}&limit=100`, { token: eve.token }),
          );
          expect(byType.rooms).toEqual([]);
          // Members still see it.
          expect((await getRoom(t, bob, room.roomId)).isJoined).toBe(true);
        },
      );

      it('a DM room is invisible to third parties sending through /direct', async () => {
        const [alice, bob, eve] = await users(3);
        const dm = (await hiddenRooms(alice, bob)).direct;
        const r = await t.api('POST', `/v1/chat/direct/${alice.userId}/messages`, {
          token: eve.token,
          body: { content: 'hi' },
        });
        const eveDm = expectOk(r, 201);
        expect(eveDm.roomId).not.toBe(dm.roomId);
        expect(await history(t, alice, dm.roomId)).toEqual([]);
      });
    });

    describe('announcement rooms', () => {
      it('only admins and the owner post; members get 403 READ_ONLY_ROOM but may read', async () => {
        const [alice, bob, carol, dave, eve] = await users(5);
        const room = await t.newRoom(alice, { type: 'announcement' });
        for (const u of [bob, carol, dave]) await join(t, u, room.roomId);
        await setRole(t, alice, room.roomId, bob, 'admin');
        await setRole(t, alice, room.roomId, carol, 'moderator');

        await send(t, alice, room.roomId, 'from the owner');
        await send(t, bob, room.roomId, 'from an admin');
        const head = (await getRoom(t, alice, room.roomId)).lastSeq;
        for (const u of [carol, dave]) {
          expectError(
            await t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
              token: u.token,
              body: { content: 'me?' },
            }),
            403,
            'READ_ONLY_ROOM',
          );
        }
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
            token: eve.token,
            body: { content: 'me?' },
          }),
          403,
          'NOT_A_MEMBER',
        );
        expect((await getRoom(t, alice, room.roomId)).lastSeq).toBe(head);
        expect((await history(t, dave, room.roomId)).map((m) => m.content)).toEqual([
          'from the owner',
          'from an admin',
        ]);
        expect((await history(t, eve, room.roomId)).map((m) => m.content)).toEqual([
          'from the owner',
          'from an admin',
        ]);
        // Members cannot invite to an announcement room, even with invites on.
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/invite`, {
            token: dave.token,
            body: { userIds: [eve.userId] },
          }),
          403,
          'FORBIDDEN',
        );
        expect((await getRoom(t, alice, room.roomId)).memberCount).toBe(4);
      });
    });

    describe('public rooms', () => {
      it('non-members may read but not write', async () => {
        const [alice, eve] = await users(2);
        const room = await t.newRoom(alice);
        const msg = await send(t, alice, room.roomId, 'open to all');
        const before = await getRoom(t, alice, room.roomId);

        expect((await history(t, eve, room.roomId)).map((m) => m.content)).toEqual(['open to all']);
        expect(await getRoom(t, eve, room.roomId)).toMatchObject({ isJoined: false });
        expect((await members(t, eve, room.roomId)).map((m) => m.userId)).toEqual([alice.userId]);
        expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/messages/${msg.messageId}`, { token: eve.token }),
        );
        expectOk(await t.api('GET', `/v1/chat/rooms/${room.roomId}/pins`, { token: eve.token }));
        expectOk(await t.api('GET', `/v1/chat/rooms/${room.roomId}/events`, { token: eve.token }));

        const writes = roomOperations(room.roomId, msg.messageId, alice.userId).filter(
          ([m, p]) => m !== 'GET' && !p.endsWith('/join'),
        );
        expect(writes.length).toBeGreaterThan(10);
        for (const op of writes) {
          const r = await call(eve, op);
          expect({ op, status: r.status, code: r.body.error?.code }).toEqual({
            op,
            status: 403,
            code: 'NOT_A_MEMBER',
          });
        }
        const after = await getRoom(t, alice, room.roomId);
        expect(after).toMatchObject({ lastSeq: before.lastSeq, memberCount: 1, name: before.name });
        expect(await history(t, alice, room.roomId)).toEqual([
          expect.objectContaining({ content: 'open to all' }),
        ]);
        expect(
          expectOk(await t.api('GET', `/v1/chat/rooms/${room.roomId}/bans`, { token: alice.token })).bans,
        ).toEqual([]);
      });
    });

    describe('rights within a room', () => {
      it('rejects every mutating operation from a plain member who lacks the right', async () => {
        const [alice, bob, carol, dave] = await users(4);
        const room = await t.newRoom(alice, { allowInvites: false });
        for (const u of [bob, carol]) await join(t, u, room.roomId);
        await setRole(t, alice, room.roomId, bob, 'moderator');
        const aliceMsg = await send(t, alice, room.roomId, 'by the owner');
        const before = await getRoom(t, alice, room.roomId);
        const r = `/v1/chat/rooms/${room.roomId}`;

        const denied: [string, string, unknown?][] = [
          ['PATCH', r, { name: 'mine now' }],
          ['POST', `${r}/invite`, { userIds: [dave.userId] }],
          ['PATCH', `${r}/members/${carol.userId}`, { role: 'admin' }],
          ['PATCH', `${r}/members/${bob.userId}`, { role: 'member' }],
          ['DELETE', `${r}/members/${bob.userId}`],
          ['GET', `${r}/bans`],
          ['POST', `${r}/bans`, { userId: dave.userId }],
          ['DELETE', `${r}/bans/${dave.userId}`],
          ['PATCH', `${r}/messages/${aliceMsg.messageId}`, { content: 'edited by carol' }],
          ['DELETE', `${r}/messages/${aliceMsg.messageId}`],
          ['PUT', `${r}/messages/${aliceMsg.messageId}/pin`],
          ['DELETE', `${r}/messages/${aliceMsg.messageId}/pin`],
        ];
        for (const op of denied) {
          const res = await call(carol, op);
          expect({ op, status: res.status, code: res.body.error?.code }).toEqual({
            op,
            status: 403,
            code: 'FORBIDDEN',
          });
        }
        // A moderator still may not touch settings, roles or the owner.
        for (const op of [
          denied[0]!,
          denied[2]!,
          ['DELETE', `${r}/members/${alice.userId}`] as [string, string],
        ]) {
          const res = await call(bob, op);
          expect({ op, status: res.status, code: res.body.error?.code }).toEqual({
            op,
            status: 403,
            code: 'FORBIDDEN',
          });
        }

        expect(await getRoom(t, alice, room.roomId)).toMatchObject({
          lastSeq: before.lastSeq,
          memberCount: 3,
          name: before.name,
          settings: before.settings,
        });
        expect(await history(t, alice, room.roomId)).toEqual([
          expect.objectContaining({
            content: 'by the owner',
            isDeleted: false,
            isPinned: false,
            isEdited: false,
          }),
        ]);
        const roles = Object.fromEntries(
          (await members(t, alice, room.roomId)).map((m) => [m.userId, m.role]),
        );
        expect(roles).toEqual({
          [alice.userId]: 'owner',
          [bob.userId]: 'moderator',
          [carol.userId]: 'member',
        });
        expect(await joinedRooms(t, dave)).toEqual([]);
      });
    });

    describe('authentication', () => {
      it('requires a valid bearer token on every room route', async () => {
        const [alice] = await users(1);
        const room = await t.newRoom(alice);
        const msg = await send(t, alice, room.roomId, 'x');
        const ops: [string, string, unknown?][] = [
          ['GET', '/v1/chat/rooms'],
          ['POST', '/v1/chat/rooms', { name: 'n', type: 'public' }],
          ['POST', '/v1/chat/direct', { userId: alice.userId }],
          ['POST', `/v1/chat/direct/${alice.userId}/messages`, { content: 'x' }],
          ...roomOperations(room.roomId, msg.messageId, alice.userId),
        ];
        for (const op of ops) {
          const [method, path, body] = op;
          const anon = await t.api(method, path, { body });
          expect({ op, status: anon.status, code: anon.body.error?.code }).toEqual({
            op,
            status: 401,
            code: 'UNAUTHENTICATED',
          });
          const forged = await t.api(method, path, { token: 'not.a.jwt', body });
          expect({ op, status: forged.status, code: forged.body.error?.code }).toEqual({
            op,
            status: 401,
            code: 'INVALID_TOKEN',
          });
        }
        const wrongScheme = await t.api('GET', '/v1/chat/rooms', {
          headers: { authorization: `Basic ${alice.token}` },
        });
        expectError(wrongScheme, 401, 'UNAUTHENTICATED');
        expect(await history(t, alice, room.roomId)).toHaveLength(1);
        expect((await joinedRooms(t, alice)).map((r) => r.roomId)).toEqual([room.roomId]);
      });
    });
  });
}
