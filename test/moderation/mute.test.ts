import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { events, expectError, expectOk, join, newUsers, send, setRole } from '../http/http-helpers.js';

for (const backend of await availableBackends()) {
  describe(`timed mutes (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    const mute = (by: TestUser, roomId: string, body: Record<string, unknown>) =>
      t.api('POST', `/v1/chat/rooms/${roomId}/mutes`, { token: by.token, body });
    const unmute = (by: TestUser, roomId: string, who: TestUser) =>
      t.api('DELETE', `/v1/chat/rooms/${roomId}/mutes/${who.userId}`, { token: by.token });
    const trySend = (u: TestUser, roomId: string) =>
      t.api('POST', `/v1/chat/rooms/${roomId}/messages`, { token: u.token, body: { content: 'hi' } });

    it('refuses sends with MUTED until unmuted, and logs member_muted', async () => {
      const [owner, mod, bob] = await newUsers(t, 3);
      const room = await t.newRoom(owner);
      await join(t, mod, room.roomId);
      await join(t, bob, room.roomId);
      await setRole(t, owner, room.roomId, mod, 'moderator');

      const before = Date.now();
      const muted = expectOk(
        await mute(mod, room.roomId, { userId: bob.userId, durationSeconds: 600, reason: 'spam' }),
      );
      expect(muted.userId).toBe(bob.userId);
      const until = Date.parse(muted.mutedUntil);
      expect(until).toBeGreaterThanOrEqual(before + 600_000 - 1000);

      const refused = await trySend(bob, room.roomId);
      expectError(refused, 403, 'MUTED');
      const listed = expectOk(
        await t.api('GET', `/v1/chat/rooms/${room.roomId}/mutes`, { token: mod.token }),
      );
      expect(listed.mutes).toEqual([{ userId: bob.userId, mutedUntil: muted.mutedUntil }]);
      expectError(
        await t.api('GET', `/v1/chat/rooms/${room.roomId}/mutes`, { token: bob.token }),
        403,
        'FORBIDDEN',
      );
      expect(refused.body.error.message).toContain(muted.mutedUntil);
      expect(refused.body.error.details).toMatchObject({ mutedUntil: muted.mutedUntil });

      const log = await events(t, owner, room.roomId);
      expect(log.at(-1)).toMatchObject({
        type: 'member_muted',
        actorId: mod.userId,
        userId: bob.userId,
        mutedUntil: muted.mutedUntil,
        by: mod.userId,
        reason: 'spam',
      });

      expect(expectOk(await unmute(mod, room.roomId, bob))).toEqual({ userId: bob.userId, mutedUntil: null });
      expect((await events(t, owner, room.roomId)).at(-1)).toMatchObject({
        type: 'member_muted',
        userId: bob.userId,
        mutedUntil: null,
        by: mod.userId,
      });
      await send(t, bob, room.roomId, 'back again');
      expect(
        expectOk(await t.api('GET', `/v1/chat/rooms/${room.roomId}/mutes`, { token: mod.token })).mutes,
      ).toEqual([]);
    });

    it('a mute ends by itself', async () => {
      const [owner, bob] = await newUsers(t, 2);
      const room = await t.newRoom(owner);
      await join(t, bob, room.roomId);
      expectOk(await mute(owner, room.roomId, { userId: bob.userId, durationSeconds: 1 }));
      expectError(await trySend(bob, room.roomId), 403, 'MUTED');
      await new Promise((r) => setTimeout(r, 1100));
      await send(t, bob, room.roomId, 'free');
    });

    it('members cannot mute; moderators cannot mute admins or peers', async () => {
      const [owner, admin, mod, mod2, bob] = await newUsers(t, 5);
      const room = await t.newRoom(owner);
      for (const u of [admin, mod, mod2, bob]) await join(t, u, room.roomId);
      await setRole(t, owner, room.roomId, admin, 'admin');
      await setRole(t, owner, room.roomId, mod, 'moderator');
      await setRole(t, owner, room.roomId, mod2, 'moderator');

      expectError(
        await mute(bob, room.roomId, { userId: mod.userId, durationSeconds: 60 }),
        403,
        'FORBIDDEN',
      );
      expectError(
        await mute(mod, room.roomId, { userId: admin.userId, durationSeconds: 60 }),
        403,
        'FORBIDDEN',
      );
      expectError(
        await mute(mod, room.roomId, { userId: mod2.userId, durationSeconds: 60 }),
        403,
        'FORBIDDEN',
      );
      expectError(await unmute(bob, room.roomId, mod), 403, 'FORBIDDEN');
      expectOk(await mute(admin, room.roomId, { userId: mod.userId, durationSeconds: 60 }));
      expectError(await trySend(mod, room.roomId), 403, 'MUTED');
    });

    it('rejects bad input', async () => {
      const [owner, bob, stranger] = await newUsers(t, 3);
      const room = await t.newRoom(owner);
      await join(t, bob, room.roomId);
      for (const body of [
        {},
        { userId: bob.userId },
        { userId: bob.userId, durationSeconds: 0 },
        { userId: bob.userId, durationSeconds: 31_536_001 },
        { userId: bob.userId, durationSeconds: 1.5 },
        { userId: bob.userId, durationSeconds: '60' },
        { userId: bob.userId, durationSeconds: 60, extra: true },
        { userId: bob.userId, durationSeconds: 60, reason: 'x'.repeat(501) },
      ]) {
        expectError(await mute(owner, room.roomId, body), 400, 'VALIDATION_FAILED');
      }
      expectError(
        await mute(owner, room.roomId, { userId: stranger.userId, durationSeconds: 60 }),
        404,
        'USER_NOT_FOUND',
      );
      expectError(
        await mute(owner, room.roomId, { userId: owner.userId, durationSeconds: 60 }),
        400,
        'VALIDATION_FAILED',
      );
    });
  });
}
