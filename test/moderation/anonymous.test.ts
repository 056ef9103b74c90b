import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { events, expectError, expectOk, history, join, newUsers, setRole } from '../http/http-helpers.js';
import { closeAll, is, live, msgIn } from '../realtime/ws-client.js';

for (const backend of await availableBackends()) {
  describe(`anonymous messages (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    const sendAnon = (u: TestUser, roomId: string, body: Record<string, unknown> = {}) =>
      t.api('POST', `/v1/chat/rooms/${roomId}/messages`, {
        token: u.token,
        body: { content: 'who said that?', isAnonymous: true, ...body },
      });

    /** A room allowing anonymous posts, with a moderator and two plain members. */
    async function anonRoom() {
      const [owner, mod, alice, bob] = await newUsers(t, 4);
      const room = await t.newRoom(owner, { settings: { allowAnonymous: true } });
      for (const u of [mod, alice, bob]) await join(t, u, room.roomId);
      await setRole(t, owner, room.roomId, mod, 'moderator');
      return { owner, mod, alice, bob, roomId: room.roomId as string };
    }

    /** Every place the author's id could show up, as one string. */
    const leaks = (value: unknown, userId: string) => JSON.stringify(value).includes(userId);
    /** The log's message events (joins name their users, rightly). */
    const messageEvents = (log: any[]) =>
      log.filter((e) => e.type.startsWith('message') || e.type === 'new_message');

    it('rooms without allowAnonymous refuse anonymous sends with FORBIDDEN and store nothing', async () => {
      const [owner] = await newUsers(t, 1);
      const room = await t.newRoom(owner);
      expect(room.settings.allowAnonymous).toBe(false);
      const r = await sendAnon(owner, room.roomId);
      expectError(r, 403, 'FORBIDDEN');
      expect(r.body.error.message).toMatch(/anonymous/);
      expect(await history(t, owner, room.roomId)).toEqual([]);
    });

    it('members see the alias; the log, live frames and history never name the author', async () => {
      const { alice, bob, roomId } = await anonRoom();
      const bobLive = await live(t, bob);
      try {
        const sent = expectOk(
          await sendAnon(alice, roomId, { anonymousName: 'Night Owl', clientMsgId: 'anon-1' }),
          201,
        );
        // The sender's own answer keeps the clientMsgId it needs to match its outbox.
        expect(sent).toMatchObject({
          isAnonymous: true,
          anonymousName: 'Night Owl',
          authorId: 'anonymous',
          authorName: 'Night Owl',
          authorAvatar: null,
          clientMsgId: 'anon-1',
        });
        expect(sent.authorId).not.toBe(alice.userId);

        const frame = await bobLive.next(msgIn(roomId));
        expect(frame.actorId).toBeNull();
        expect(frame.message).toMatchObject({
          authorId: 'anonymous',
          authorName: 'Night Owl',
          clientMsgId: null,
        });
        expect(leaks(frame, alice.userId)).toBe(false);

        const log = messageEvents(await events(t, bob, roomId));
        expect(log).toHaveLength(1);
        expect(leaks(log, alice.userId)).toBe(false);
        const [msg] = (await history(t, bob, roomId)).filter((m) => m.isAnonymous);
        expect(msg).toMatchObject({ authorName: 'Night Owl', authorId: 'anonymous' });
        expect(leaks(msg, alice.userId)).toBe(false);
        const one = expectOk(
          await t.api('GET', `/v1/chat/rooms/${roomId}/messages/${sent.messageId}`, { token: bob.token }),
        );
        expect(one.authorId).toBe('anonymous');
      } finally {
        await closeAll([bobLive]);
      }
    });

    it('moderators and above see the author in history and single reads', async () => {
      const { owner, mod, alice, roomId } = await anonRoom();
      const sent = expectOk(await sendAnon(alice, roomId), 201);
      expect(sent.anonymousName).toBe('Anonymous');
      for (const viewer of [mod, owner]) {
        const [msg] = (await history(t, viewer, roomId)).filter((m) => m.isAnonymous);
        expect(msg).toMatchObject({ authorId: alice.userId, isAnonymous: true, anonymousName: 'Anonymous' });
        expect(msg.authorName).not.toBe('Anonymous');
        const one = expectOk(
          await t.api('GET', `/v1/chat/rooms/${roomId}/messages/${sent.messageId}`, { token: viewer.token }),
        );
        expect(one.authorId).toBe(alice.userId);
      }
    });

    it('edits and self-deletes by the author stay anonymous; a moderator delete names the moderator', async () => {
      const { mod, alice, bob, roomId } = await anonRoom();
      const a = expectOk(await sendAnon(alice, roomId), 201);
      const b = expectOk(await sendAnon(alice, roomId, { content: 'second' }), 201);
      expectOk(
        await t.api('PATCH', `/v1/chat/rooms/${roomId}/messages/${a.messageId}`, {
          token: alice.token,
          body: { content: 'edited, still anonymous' },
        }),
      );
      // Others cannot edit it even though the view hides whose it is.
      expectError(
        await t.api('PATCH', `/v1/chat/rooms/${roomId}/messages/${a.messageId}`, {
          token: bob.token,
          body: { content: 'hijack' },
        }),
        403,
        'FORBIDDEN',
      );
      expect(
        (await t.api('DELETE', `/v1/chat/rooms/${roomId}/messages/${a.messageId}`, { token: alice.token }))
          .status,
      ).toBe(200);
      expect(
        (await t.api('DELETE', `/v1/chat/rooms/${roomId}/messages/${b.messageId}`, { token: mod.token }))
          .status,
      ).toBe(200);
      const log = messageEvents(await events(t, bob, roomId));
      expect(log).toHaveLength(5);
      expect(leaks(log, alice.userId)).toBe(false);
      const edit = log.find((e) => e.type === 'message_updated');
      expect(edit).toMatchObject({
        actorId: null,
        message: { content: 'edited, still anonymous', authorId: 'anonymous' },
      });
      const deletes = log.filter((e) => e.type === 'message_deleted');
      expect(deletes).toEqual([
        expect.objectContaining({ messageId: a.messageId, deletedBy: 'anonymous', actorId: null }),
        expect.objectContaining({ messageId: b.messageId, deletedBy: mod.userId, actorId: mod.userId }),
      ]);
    });

    it('a retried clientMsgId answers with the stored anonymous message', async () => {
      const { alice, roomId } = await anonRoom();
      const first = expectOk(await sendAnon(alice, roomId, { clientMsgId: 'k-anon' }), 201);
      const again = await sendAnon(alice, roomId, { clientMsgId: 'k-anon' });
      expect(again.status).toBe(200);
      expect(again.body.data).toMatchObject({
        messageId: first.messageId,
        duplicate: true,
        authorId: 'anonymous',
      });
    });

    it('search by author never returns anonymous messages', async () => {
      const { alice, bob, roomId } = await anonRoom();
      expectOk(await sendAnon(alice, roomId, { content: 'zebracrossing secret' }), 201);
      expectOk(
        await t.api('POST', `/v1/chat/rooms/${roomId}/messages`, {
          token: alice.token,
          body: { content: 'zebracrossing public' },
        }),
        201,
      );
      const all = expectOk(
        await t.api('GET', `/v1/chat/search?q=zebracrossing&roomId=${roomId}`, { token: bob.token }),
      );
      expect(all.results).toHaveLength(2);
      expect(
        leaks(
          all.results.filter((r: any) => r.message.isAnonymous),
          alice.userId,
        ),
      ).toBe(false);
      const byAlice = expectOk(
        await t.api('GET', `/v1/chat/search?q=zebracrossing&authorId=${alice.userId}`, { token: bob.token }),
      );
      expect(byAlice.results.map((r: any) => r.message.content)).toEqual(['zebracrossing public']);
    });

    it('validates the alias and the pairing over REST and WebSocket', async () => {
      const { alice, roomId } = await anonRoom();
      expectError(await sendAnon(alice, roomId, { anonymousName: 'x'.repeat(33) }), 400, 'VALIDATION_FAILED');
      expectError(
        await t.api('POST', `/v1/chat/rooms/${roomId}/messages`, {
          token: alice.token,
          body: { content: 'hi', anonymousName: 'Owl' },
        }),
        400,
        'VALIDATION_FAILED',
      );
      const ws = await live(t, alice);
      try {
        ws.send({
          type: 'send_message',
          id: 'a1',
          roomId,
          content: 'via ws',
          isAnonymous: true,
          anonymousName: 'Fox',
        });
        const ack = await ws.next(is('ack', { id: 'a1' }));
        expect(ack.status).toBe('sent');
        const [msg] = (await history(t, alice, roomId)).filter((m) => m.messageId === ack.messageId);
        expect(msg).toMatchObject({ authorId: 'anonymous', authorName: 'Fox', isAnonymous: true });
      } finally {
        await closeAll([ws]);
      }
    });
  });
}
