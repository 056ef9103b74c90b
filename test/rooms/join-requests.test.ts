import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import {
  events,
  expectError,
  expectOk,
  getRoom,
  join,
  newUsers,
  send,
  setRole,
} from '../http/http-helpers.js';

for (const backend of await availableBackends()) {
  describe(`join requests (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    const gatedRoom = (owner: TestUser, body: Record<string, unknown> = {}) =>
      t.newRoom(owner, { settings: { requireApproval: true }, ...body });
    const ask = (u: TestUser, roomId: string, body?: Record<string, unknown>) =>
      t.api('POST', `/v1/chat/rooms/${roomId}/join`, { token: u.token, ...(body ? { body } : {}) });
    const list = (u: TestUser, roomId: string) =>
      t.api('GET', `/v1/chat/rooms/${roomId}/join-requests`, { token: u.token });
    const decide = (u: TestUser, roomId: string, who: TestUser, what: 'approve' | 'reject') =>
      t.api('POST', `/v1/chat/rooms/${roomId}/join-requests/${who.userId}/${what}`, { token: u.token });
    const cancel = (u: TestUser, roomId: string) =>
      t.api('DELETE', `/v1/chat/rooms/${roomId}/join-requests/me`, { token: u.token });

    it('records a pending request instead of joining, idempotently', async () => {
      const [owner, bob] = await newUsers(t, 2);
      const room = await gatedRoom(owner);
      expect(expectOk(await ask(bob, room.roomId, { message: 'let me in' }), 202)).toEqual({
        status: 'pending',
      });
      expect(expectOk(await ask(bob, room.roomId), 202)).toEqual({ status: 'pending' });
      expect((await getRoom(t, owner, room.roomId)).memberCount).toBe(1);
      const reqs = expectOk(await list(owner, room.roomId));
      expect(reqs).toHaveLength(1);
      expect(reqs[0]).toMatchObject({ userId: bob.userId, username: bob.username, message: 'let me in' });
      expect(Date.parse(reqs[0].createdAt)).not.toBeNaN();
      expectError(await ask(bob, room.roomId, { message: 'x'.repeat(301) }), 400, 'VALIDATION_FAILED');
    });

    it('members get ALREADY_MEMBER, banned users BANNED', async () => {
      const [owner, bob] = await newUsers(t, 2);
      const room = await gatedRoom(owner);
      expectError(await ask(owner, room.roomId), 409, 'ALREADY_MEMBER');
      expectOk(
        await t.api('POST', `/v1/chat/rooms/${room.roomId}/bans`, {
          token: owner.token,
          body: { userId: bob.userId },
        }),
      );
      expectError(await ask(bob, room.roomId), 403, 'BANNED');
    });

    it('an admin approves: the requester becomes a member, logged as user_joined', async () => {
      const [owner, admin, bob] = await newUsers(t, 3);
      const room = await t.newRoom(owner);
      await join(t, admin, room.roomId);
      await setRole(t, owner, room.roomId, admin, 'admin');
      expectOk(
        await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
          token: owner.token,
          body: { settings: { requireApproval: true } },
        }),
      );
      expectOk(await ask(bob, room.roomId), 202);
      expectOk(await decide(admin, room.roomId, bob, 'approve'));
      expect((await getRoom(t, bob, room.roomId)).isJoined).toBe(true);
      expect((await events(t, owner, room.roomId)).at(-1)).toMatchObject({
        type: 'user_joined',
        actorId: admin.userId,
        user: { userId: bob.userId },
        role: 'member',
        invitedBy: admin.userId,
      });
      expect(expectOk(await list(owner, room.roomId))).toEqual([]);
      await send(t, bob, room.roomId, 'thanks');
      expectError(await decide(admin, room.roomId, bob, 'approve'), 404, 'NOT_FOUND');
    });

    it('an admin rejects; 404 when there is no request', async () => {
      const [owner, bob] = await newUsers(t, 2);
      const room = await gatedRoom(owner);
      expectOk(await ask(bob, room.roomId), 202);
      expectOk(await decide(owner, room.roomId, bob, 'reject'));
      expect(expectOk(await list(owner, room.roomId))).toEqual([]);
      expectError(await decide(owner, room.roomId, bob, 'reject'), 404, 'NOT_FOUND');
      expect((await getRoom(t, bob, room.roomId)).isJoined).toBe(false);
    });

    it('non-admins cannot list, approve or reject', async () => {
      const [owner, mod, carol, bob] = await newUsers(t, 4);
      const room = await t.newRoom(owner);
      await join(t, mod, room.roomId);
      await join(t, carol, room.roomId);
      await setRole(t, owner, room.roomId, mod, 'moderator');
      expectOk(
        await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
          token: owner.token,
          body: { settings: { requireApproval: true } },
        }),
      );
      expectOk(await ask(bob, room.roomId), 202);
      for (const u of [mod, carol]) {
        expectError(await list(u, room.roomId), 403, 'FORBIDDEN');
        expectError(await decide(u, room.roomId, bob, 'approve'), 403, 'FORBIDDEN');
        expectError(await decide(u, room.roomId, bob, 'reject'), 403, 'FORBIDDEN');
      }
      expectError(await list(bob, room.roomId), 403, 'NOT_A_MEMBER');
      expect(expectOk(await list(owner, room.roomId))).toHaveLength(1);
    });

    it('the requester can cancel', async () => {
      const [owner, bob] = await newUsers(t, 2);
      const room = await gatedRoom(owner);
      expectOk(await ask(bob, room.roomId), 202);
      expectOk(await cancel(bob, room.roomId));
      expect(expectOk(await list(owner, room.roomId))).toEqual([]);
      expectError(await cancel(bob, room.roomId), 404, 'NOT_FOUND');
    });

    it('approving into a full room answers ROOM_FULL and keeps the request', async () => {
      const [owner, carol, bob] = await newUsers(t, 3);
      const room = await gatedRoom(owner, { maxMembers: 2 });
      expectOk(await ask(bob, room.roomId), 202);
      expectOk(await ask(carol, room.roomId), 202);
      expectOk(await decide(owner, room.roomId, carol, 'approve'));
      expectError(await decide(owner, room.roomId, bob, 'approve'), 409, 'ROOM_FULL');
      expect(expectOk(await list(owner, room.roomId)).map((r: any) => r.userId)).toEqual([bob.userId]);
    });

    it('rooms without requireApproval still join directly', async () => {
      const [owner, bob, carol] = await newUsers(t, 3);
      const room = await t.newRoom(owner);
      expect(await join(t, bob, room.roomId)).toMatchObject({ isJoined: true, role: 'member' });
      const ann = await t.newRoom(owner, { type: 'announcement' });
      expect(expectOk(await ask(carol, ann.roomId, { message: 'hi' }))).toMatchObject({ isJoined: true });
    });
  });
}
