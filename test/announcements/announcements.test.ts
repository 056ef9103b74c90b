import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ROOM_ID } from '../../src/announcements/announcements.service.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser, uniqueName } from '../helpers/test-app.js';
import { closeAll, is, live, msgIn, newUsers, resumeFrom, type WsClient } from '../realtime/ws-client.js';

for (const backend of await availableBackends()) {
  describe(`system announcements (${backend})`, () => {
    let t: TestApp;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, { RESUME_WAIT_MS: '50', MAX_MESSAGE_LENGTH: '500' });
    });
    afterAll(async () => {
      await closeAll(clients);
      await t.close();
    });
    const connect = async (user: TestUser) => {
      const c = await live(t, user);
      clients.push(c);
      return c;
    };
    const newAdmin = async (): Promise<TestUser> => {
      const user = await t.sb.users.create({ username: uniqueName('adm'), isAdmin: true });
      return {
        userId: user.userId,
        username: user.username,
        token: await t.sb.auth.tokenFor(user),
        refreshToken: '',
      };
    };
    const announce = (user: TestUser, body: unknown) =>
      t.api('POST', '/v1/admin/announcements', { token: user.token, body });
    const listAnnouncements = async (user: TestUser, query = '') => {
      const r = await t.api('GET', `/v1/announcements${query}`, { token: user.token });
      expect(r.status).toBe(200);
      return r.body.data;
    };

    it('an admin announcement reaches every connected user and is stored in the system room', async () => {
      const admin = await newAdmin();
      const users = await newUsers(t, 3);
      const sockets = await Promise.all(users.map(connect));
      const adminSocket = await connect(admin);

      const r = await announce(admin, {
        title: 'Maintenance',
        content: 'Down at 22:00 UTC',
        level: 'warning',
      });
      expect(r.status).toBe(201);
      const posted = r.body.data;
      expect(posted).toEqual({
        messageId: expect.stringMatching(/^msg_/),
        roomId: SYSTEM_ROOM_ID,
        seq: expect.any(Number),
        title: 'Maintenance',
        content: 'Down at 22:00 UTC',
        level: 'warning',
        createdAt: expect.any(String),
        authorId: admin.userId,
      });

      // Every connection gets the frame, members of nothing included, and the admin's own too.
      for (const c of [...sockets, adminSocket]) {
        const f = await c.waitFor(
          (x) => x.type === 'announcement' && x.announcement.messageId === posted.messageId,
        );
        expect(f).toEqual({ type: 'announcement', announcement: posted });
      }
      // Nobody is a member of the system room, so nobody got its log event live.
      for (const c of sockets) {
        await c.barrier();
        expect(c.all(msgIn(SYSTEM_ROOM_ID))).toEqual([]);
      }

      // The message is in the room's log, as a `system` message by the admin.
      const log = await t.api('GET', `/v1/chat/rooms/${SYSTEM_ROOM_ID}/events?after=0&limit=1000`, {
        token: users[0].token,
      });
      expect(log.status).toBe(200);
      expect(log.body.data.events[0]).toMatchObject({ type: 'room_created', seq: 1, actorId: null });
      const event = log.body.data.events.find(
        (e: { type: string; message?: { messageId: string } }) =>
          e.type === 'new_message' && e.message?.messageId === posted.messageId,
      );
      expect(event).toMatchObject({
        seq: posted.seq,
        actorId: admin.userId,
        message: { type: 'system', content: 'Down at 22:00 UTC', authorId: admin.userId },
      });

      // And it is listed, newest first.
      const list = await listAnnouncements(users[1]);
      expect(list.announcements[0]).toEqual(posted);
    });

    it('the system room is a discoverable announcement room that users may join but not post in', async () => {
      const admin = await newAdmin();
      const [user] = await newUsers(t, 1);
      expect((await announce(admin, { content: 'hello' })).status).toBe(201);

      const room = await t.api('GET', `/v1/chat/rooms/${SYSTEM_ROOM_ID}`, { token: user.token });
      expect(room.status).toBe(200);
      expect(room.body.data).toMatchObject({ roomId: SYSTEM_ROOM_ID, type: 'announcement', isJoined: false });
      const listed = await t.api('GET', '/v1/chat/rooms?type=announcement&limit=100', { token: user.token });
      expect(listed.body.data.rooms.map((x: { roomId: string }) => x.roomId)).toContain(SYSTEM_ROOM_ID);

      const c = await connect(user);
      expect(await c.ok({ type: 'join_room', roomId: SYSTEM_ROOM_ID })).toMatchObject({
        roomId: SYSTEM_ROOM_ID,
      });
      const denied = await c.request({ type: 'send_message', roomId: SYSTEM_ROOM_ID, content: 'me too' });
      expect(denied).toMatchObject({ type: 'error', code: 'READ_ONLY_ROOM' });

      // A member gets both the log event and the announcement frame.
      const r = await announce(admin, { content: 'members see the log too' });
      const id = r.body.data.messageId;
      const ev = await c.waitFor((f) => f.type === 'new_message' && f.message.messageId === id);
      expect(ev).toMatchObject({ roomId: SYSTEM_ROOM_ID, message: { type: 'system' } });
      await c.waitFor((f) => f.type === 'announcement' && f.announcement.messageId === id);

      // Offline members replay it from the log like any room event.
      await c.close();
      const missed = await announce(admin, { content: 'while you were away' });
      const again = await resumeFrom(t, user, { [SYSTEM_ROOM_ID]: ev.seq });
      clients.push(again);
      const replayed = await again.next(msgIn(SYSTEM_ROOM_ID));
      expect(replayed.message).toMatchObject({
        messageId: missed.body.data.messageId,
        content: 'while you were away',
      });
    });

    it('refuses non-admins with 403 and stores and sends nothing', async () => {
      const [user, watcher] = await newUsers(t, 2);
      const w = await connect(watcher);
      const before = await listAnnouncements(watcher);

      const r = await announce(user, { content: 'I am not an admin' });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('FORBIDDEN');

      // A token minted while the user was an admin does not outlive the flag.
      const demoted = await newAdmin();
      await t.sb.users.setAdmin(demoted.userId, false);
      const stale = await announce(demoted, { content: 'stale token' });
      expect(stale.status).toBe(403);

      await w.barrier();
      expect(w.all(is('announcement'))).toEqual([]);
      const after = await listAnnouncements(watcher);
      expect(after.announcements).toEqual(before.announcements);
    });

    it('rejects bad input with 400', async () => {
      const admin = await newAdmin();
      const before = await listAnnouncements(admin);
      const cases: [unknown, string][] = [
        [{}, 'VALIDATION_FAILED'],
        [{ content: '' }, 'VALIDATION_FAILED'],
        [{ content: '   ' }, 'VALIDATION_FAILED'],
        [{ content: 42 }, 'VALIDATION_FAILED'],
        [{ content: 'x', level: 'panic' }, 'VALIDATION_FAILED'],
        [{ content: 'x', title: 't'.repeat(201) }, 'VALIDATION_FAILED'],
        [{ content: 'x', title: '  ' }, 'VALIDATION_FAILED'],
        [{ content: 'x', extra: true }, 'VALIDATION_FAILED'],
        [{ content: 'x'.repeat(501) }, 'MESSAGE_TOO_LONG'],
      ];
      for (const [body, code] of cases) {
        const r = await announce(admin, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.code, JSON.stringify(body)).toBe(code);
      }
      expect((await listAnnouncements(admin)).announcements).toEqual(before.announcements);

      const badQuery = await t.api('GET', '/v1/announcements?limit=0', { token: admin.token });
      expect(badQuery.status).toBe(400);
      expect((await t.api('GET', '/v1/announcements')).status).toBe(401);
    });

    it('pages announcements newest first by seq; info is the default level', async () => {
      const admin = await newAdmin();
      const posted = [];
      for (const content of ['one', 'two', 'three'])
        posted.push((await announce(admin, { content })).body.data);
      expect(posted[0]).toMatchObject({ level: 'info' });
      expect(posted[0]).not.toHaveProperty('title');

      const first = await listAnnouncements(admin, '?limit=2');
      expect(first.announcements.map((a: { content: string }) => a.content)).toEqual(['three', 'two']);
      expect(first.pagination).toEqual({ hasMore: true, limit: 2, before: posted[1].seq });
      const second = await listAnnouncements(admin, `?limit=2&before=${first.pagination.before}`);
      expect(second.announcements[0]).toEqual(posted[0]);
    });
  });

  describe(`system announcements before the first one (${backend})`, () => {
    it('lists nothing while no announcement exists', async () => {
      const t = await startTestApp(backend);
      try {
        const user = await t.newUser();
        const r = await t.api('GET', '/v1/announcements', { token: user.token });
        expect(r.status).toBe(200);
        expect(r.body.data).toEqual({
          announcements: [],
          pagination: { hasMore: false, limit: 20, before: null },
        });
      } finally {
        await t.close();
      }
    });

    it('creates the system room once when the first announcements race', async () => {
      const t = await startTestApp(backend);
      try {
        const admins = await Promise.all(
          [1, 2, 3, 4].map(async () => {
            const u = await t.sb.users.create({ username: uniqueName('adm'), isAdmin: true });
            return t.sb.auth.tokenFor(u);
          }),
        );
        const answers = await Promise.all(
          admins.map((token, i) =>
            t.api('POST', '/v1/admin/announcements', { token, body: { content: `first ${i}` } }),
          ),
        );
        expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201]);
        const log = await t.api('GET', `/v1/chat/rooms/${SYSTEM_ROOM_ID}/events?after=0`, {
          token: admins[0],
        });
        const types = log.body.data.events.map((e: { type: string }) => e.type);
        expect(types).toEqual(['room_created', 'new_message', 'new_message', 'new_message', 'new_message']);
      } finally {
        await t.close();
      }
    });
  });
}
