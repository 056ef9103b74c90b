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
  MISSING_MESSAGE,
  newUsers,
  send,
  setRole,
} from './http-helpers.js';

for (const backend of await availableBackends()) {
  describe(`messages API (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    const users = (n: number) => newUsers(t, n);
    /** A public room owned by the first user, the others joined as members. */
    async function roomWith(owner: TestUser, ...others: TestUser[]) {
      const room = await t.newRoom(owner);
      for (const u of others) await join(t, u, room.roomId);
      return room;
    }
    const msgPath = (roomId: string, messageId: string, rest = '') =>
      `/v1/chat/rooms/${roomId}/messages/${messageId}${rest}`;

    describe('send', () => {
      it('answers 201 with the stored message; seq increments', async () => {
        const [alice, bob] = await users(2);
        const room = await roomWith(alice, bob);
        const head = (await getRoom(t, alice, room.roomId)).lastSeq;

        const r = await t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
          token: alice.token,
          body: { content: 'hello', metadata: { k: 'v' } },
        });
        const m1 = expectOk(r, 201);
        expect(m1).toMatchObject({
          messageId: expect.stringMatching(/^msg_/),
          roomId: room.roomId,
          seq: head + 1,
          authorId: alice.userId,
          authorName: expect.any(String),
          authorAvatar: null,
          content: 'hello',
          type: 'text',
          timestamp: expect.any(String),
          reactions: {},
          replyTo: null,
          isEdited: false,
          editedAt: null,
          isDeleted: false,
          isAnonymous: false,
          anonymousName: null,
          isPinned: false,
          attachments: [],
          clientMsgId: null,
          duplicate: false,
        });
        const m2 = await send(t, bob, room.roomId, 'hi alice');
        const m3 = await send(t, alice, room.roomId, 'how are you');
        expect([m2.seq, m3.seq]).toEqual([head + 2, head + 3]);
        expect((await getRoom(t, bob, room.roomId)).lastSeq).toBe(m3.seq);

        const stored = await history(t, bob, room.roomId);
        expect(stored.map((m) => [m.seq, m.authorId, m.content])).toEqual([
          [m1.seq, alice.userId, 'hello'],
          [m2.seq, bob.userId, 'hi alice'],
          [m3.seq, alice.userId, 'how are you'],
        ]);
        const { duplicate: _, ...withoutFlag } = m1;
        expect(stored[0]).toEqual(withoutFlag);
        expect(
          expectOk(await t.api('GET', msgPath(room.roomId, m1.messageId), { token: bob.token })),
        ).toEqual(withoutFlag);
        const [evt] = await events(t, bob, room.roomId, head);
        expect(evt).toMatchObject({ type: 'new_message', seq: m1.seq, message: { messageId: m1.messageId } });
      });

      it('is idempotent on clientMsgId: a retry answers 200 with the first message, storing nothing', async () => {
        const [alice, bob] = await users(2);
        const room = await roomWith(alice, bob);
        const first = await send(t, alice, room.roomId, 'once', { clientMsgId: 'c-1' });
        expect(first).toMatchObject({ clientMsgId: 'c-1', duplicate: false });
        const head = (await getRoom(t, alice, room.roomId)).lastSeq;

        for (const content of ['once', 'changed my mind']) {
          const retry = await t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
            token: alice.token,
            body: { content, clientMsgId: 'c-1' },
          });
          const data = expectOk(retry, 200);
          expect(data).toMatchObject({
            duplicate: true,
            messageId: first.messageId,
            seq: first.seq,
            content: 'once',
            clientMsgId: 'c-1',
          });
        }
        expect(await history(t, alice, room.roomId)).toHaveLength(1);
        expect((await getRoom(t, alice, room.roomId)).lastSeq).toBe(head);

        // Keys belong to the sender: bob may use the same one.
        const bobs = await send(t, bob, room.roomId, 'mine', { clientMsgId: 'c-1' });
        expect(bobs.messageId).not.toBe(first.messageId);
        expect(await history(t, alice, room.roomId)).toHaveLength(2);
      });

      it('stores one message for concurrent retries of the same clientMsgId', async () => {
        const [alice] = await users(1);
        const room = await roomWith(alice);
        const results = await Promise.all(
          Array.from({ length: 5 }, () =>
            t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
              token: alice.token,
              body: { content: 'burst', clientMsgId: 'same-key' },
            }),
          ),
        );
        expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
        expect(new Set(results.map((r) => r.body.data.messageId)).size).toBe(1);
        expect(await history(t, alice, room.roomId)).toHaveLength(1);
      });

      it('replies to a message in the room; unknown replyTo is 404 and stores nothing', async () => {
        const [alice, bob] = await users(2);
        const room = await roomWith(alice, bob);
        const other = await roomWith(alice);
        const parent = await send(t, alice, room.roomId, 'question?');
        const foreign = await send(t, alice, other.roomId, 'elsewhere');

        const reply = await send(t, bob, room.roomId, 'answer', { replyTo: parent.messageId });
        expect(reply.replyTo).toBe(parent.messageId);
        expect((await history(t, alice, room.roomId)).at(-1)).toMatchObject({ replyTo: parent.messageId });

        const head = (await getRoom(t, alice, room.roomId)).lastSeq;
        for (const replyTo of [MISSING_MESSAGE, foreign.messageId]) {
          expectError(
            await t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
              token: bob.token,
              body: { content: 'lost', replyTo },
            }),
            404,
            'MESSAGE_NOT_FOUND',
          );
        }
        expect((await getRoom(t, alice, room.roomId)).lastSeq).toBe(head);
        expect(await history(t, alice, room.roomId)).toHaveLength(2);
      });
    });

    describe('history', () => {
      let alice: TestUser;
      let roomId: string;
      let all: any[];
      beforeAll(async () => {
        [alice] = await users(1);
        roomId = (await roomWith(alice)).roomId;
        for (let i = 1; i <= 10; i++) await send(t, alice, roomId, `m${i}`);
        all = await history(t, alice, roomId);
      });
      const page = async (query: string) =>
        expectOk(await t.api('GET', `/v1/chat/rooms/${roomId}/messages?${query}`, { token: alice.token }));
      const contents = (p: any) => p.messages.map((m: any) => m.content);

      it('returns everything oldest first without cursors', async () => {
        expect(all.map((m) => m.content)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
        const seqs = all.map((m) => m.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        const p = await page('');
        expect(p.pagination).toEqual({ hasMore: false, limit: 50, before: all[0].seq, after: all[9].seq });
      });

      it('returns the newest page with limit, and pages back with before', async () => {
        const newest = await page('limit=3');
        expect(contents(newest)).toEqual(['m8', 'm9', 'm10']);
        expect(newest.pagination).toEqual({ hasMore: true, limit: 3, before: all[7].seq, after: all[9].seq });

        const older = await page(`limit=3&before=${newest.pagination.before}`);
        expect(contents(older)).toEqual(['m5', 'm6', 'm7']);
        expect(older.pagination.hasMore).toBe(true);

        // Walk to the start: every message once, in order, and hasMore turns false.
        const seen = [...contents(older), ...contents(newest)];
        let cursor = older.pagination.before;
        for (;;) {
          const p = await page(`limit=3&before=${cursor}`);
          seen.unshift(...contents(p));
          if (!p.pagination.hasMore) break;
          cursor = p.pagination.before;
        }
        expect(seen).toEqual(all.map((m) => m.content));
      });

      it('pages forward with after, oldest first', async () => {
        const first = await page(`limit=4&after=${all[0].seq - 1}`);
        expect(contents(first)).toEqual(['m1', 'm2', 'm3', 'm4']);
        expect(first.pagination).toMatchObject({ hasMore: true, before: all[0].seq, after: all[3].seq });
        const next = await page(`limit=4&after=${first.pagination.after}`);
        expect(contents(next)).toEqual(['m5', 'm6', 'm7', 'm8']);
        const last = await page(`limit=4&after=${next.pagination.after}`);
        expect(contents(last)).toEqual(['m9', 'm10']);
        expect(last.pagination.hasMore).toBe(false);
        const none = await page(`after=${all[9].seq}`);
        expect(none).toEqual({
          messages: [],
          pagination: { hasMore: false, limit: 50, before: null, after: null },
        });
      });

      it('accepts message ids as cursors, same as their seqs', async () => {
        const m5 = all[4];
        expect(contents(await page(`limit=2&before=${m5.messageId}`))).toEqual(['m3', 'm4']);
        expect(await page(`limit=2&before=${m5.messageId}`)).toEqual(await page(`limit=2&before=${m5.seq}`));
        expect(contents(await page(`limit=2&after=${m5.messageId}`))).toEqual(['m6', 'm7']);
        expect(await page(`limit=2&after=${m5.messageId}`)).toEqual(await page(`limit=2&after=${m5.seq}`));
        // Both cursors: a window.
        expect(contents(await page(`after=${all[2].messageId}&before=${all[6].seq}`))).toEqual([
          'm4',
          'm5',
          'm6',
        ]);
      });

      it('rejects bad cursors and limits', async () => {
        const other = await roomWith(alice);
        const foreign = await send(t, alice, other.roomId, 'x');
        for (const q of [
          `before=${MISSING_MESSAGE}`,
          `after=${foreign.messageId}`,
          'before=abc',
          'after=-1',
          'limit=0',
          'limit=101',
          'limit=ten',
        ]) {
          const r = await t.api('GET', `/v1/chat/rooms/${roomId}/messages?${q}`, { token: alice.token });
          expectError(r, 400, 'VALIDATION_FAILED');
        }
      });
    });

    describe('edit and delete', () => {
      it('lets the author edit: isEdited and editedAt set, content replaced everywhere', async () => {
        const [alice, bob] = await users(2);
        const room = await roomWith(alice, bob);
        const m = await send(t, alice, room.roomId, 'typo');
        const edited = expectOk(
          await t.api('PATCH', msgPath(room.roomId, m.messageId), {
            token: alice.token,
            body: { content: 'fixed' },
          }),
        );
        expect(edited).toMatchObject({
          messageId: m.messageId,
          seq: m.seq,
          content: 'fixed',
          isEdited: true,
          editedAt: expect.any(String),
          timestamp: m.timestamp,
        });
        expect((await history(t, bob, room.roomId))[0]).toMatchObject({ content: 'fixed', isEdited: true });
        const [evt] = (await events(t, bob, room.roomId)).slice(-1);
        expect(evt).toMatchObject({ type: 'message_updated', change: 'edit', message: { content: 'fixed' } });
      });

      it("refuses edits of others' messages, even by the owner", async () => {
        const [alice, bob] = await users(2);
        const room = await roomWith(alice, bob);
        const m = await send(t, bob, room.roomId, 'mine');
        const head = (await getRoom(t, alice, room.roomId)).lastSeq;
        expectError(
          await t.api('PATCH', msgPath(room.roomId, m.messageId), {
            token: alice.token,
            body: { content: 'x' },
          }),
          403,
          'FORBIDDEN',
        );
        expect((await history(t, bob, room.roomId))[0]).toMatchObject({ content: 'mine', isEdited: false });
        expect((await getRoom(t, alice, room.roomId)).lastSeq).toBe(head);
      });

      it('deletes as a tombstone; moderators may delete anyone, members only their own', async () => {
        const [alice, bob, carol, dave] = await users(4);
        const room = await roomWith(alice, bob, carol, dave);
        await setRole(t, alice, room.roomId, carol, 'moderator');
        const own = await send(t, bob, room.roomId, 'regret');
        const others = await send(t, dave, room.roomId, 'rude');
        await t.api('PUT', msgPath(room.roomId, others.messageId, '/reactions/%F0%9F%98%A0'), {
          token: bob.token,
        });

        expect(
          expectOk(await t.api('DELETE', msgPath(room.roomId, own.messageId), { token: bob.token })),
        ).toEqual({
          ok: true,
        });
        const head = (await getRoom(t, alice, room.roomId)).lastSeq;
        expectError(
          await t.api('DELETE', msgPath(room.roomId, others.messageId), { token: bob.token }),
          403,
          'FORBIDDEN',
        );
        expect((await getRoom(t, alice, room.roomId)).lastSeq).toBe(head);
        expect((await history(t, alice, room.roomId))[1]).toMatchObject({
          content: 'rude',
          isDeleted: false,
        });

        expectOk(await t.api('DELETE', msgPath(room.roomId, others.messageId), { token: carol.token }));
        const msgs = await history(t, alice, room.roomId);
        expect(msgs).toHaveLength(2);
        for (const [m, sent] of [
          [msgs[0], own],
          [msgs[1], others],
        ]) {
          expect(m).toMatchObject({
            messageId: sent.messageId,
            seq: sent.seq,
            authorId: sent.authorId,
            isDeleted: true,
            content: '',
            reactions: {},
            attachments: [],
          });
        }
        const [evt] = (await events(t, alice, room.roomId)).slice(-1);
        expect(evt).toMatchObject({
          type: 'message_deleted',
          messageId: others.messageId,
          deletedBy: carol.userId,
        });

        // A tombstone cannot be edited, deleted again or reacted to.
        expectError(
          await t.api('PATCH', msgPath(room.roomId, own.messageId), {
            token: bob.token,
            body: { content: 'back' },
          }),
          409,
          'MESSAGE_DELETED',
        );
        expectError(
          await t.api('DELETE', msgPath(room.roomId, own.messageId), { token: bob.token }),
          409,
          'MESSAGE_DELETED',
        );
        expectError(
          await t.api('PUT', msgPath(room.roomId, own.messageId, '/reactions/ok'), { token: bob.token }),
          409,
          'MESSAGE_DELETED',
        );
        // Unknown messages are 404.
        expectError(
          await t.api('DELETE', msgPath(room.roomId, MISSING_MESSAGE), { token: carol.token }),
          404,
          'MESSAGE_NOT_FOUND',
        );
        expectError(
          await t.api('PATCH', msgPath(room.roomId, MISSING_MESSAGE), {
            token: carol.token,
            body: { content: 'x' },
          }),
          404,
          'MESSAGE_NOT_FOUND',
        );
        expectError(
          await t.api('GET', msgPath(room.roomId, MISSING_MESSAGE), { token: carol.token }),
          404,
          'MESSAGE_NOT_FOUND',
        );
      });

      it('does not reach messages of another room through this room', async () => {
        const [alice] = await users(1);
        const a = await roomWith(alice);
        const b = await roomWith(alice);
        const inB = await send(t, alice, b.roomId, 'b only');
        expectError(
          await t.api('GET', msgPath(a.roomId, inB.messageId), { token: alice.token }),
          404,
          'MESSAGE_NOT_FOUND',
        );
        expectError(
          await t.api('PATCH', msgPath(a.roomId, inB.messageId), {
            token: alice.token,
            body: { content: 'x' },
          }),
          404,
          'MESSAGE_NOT_FOUND',
        );
        expectError(
          await t.api('DELETE', msgPath(a.roomId, inB.messageId), { token: alice.token }),
          404,
          'MESSAGE_NOT_FOUND',
        );
        expect((await history(t, alice, b.roomId))[0]).toMatchObject({ content: 'b only', isDeleted: false });
      });
    });

    describe('reactions', () => {
      it('adds and removes reactions idempotently, listing users', async () => {
        const [alice, bob] = await users(2);
        const room = await roomWith(alice, bob);
        const m = await send(t, alice, room.roomId, 'react to me');
        const thumbs = encodeURIComponent('👍');
        const path = msgPath(room.roomId, m.messageId, `/reactions/${thumbs}`);

        expect(expectOk(await t.api('PUT', path, { token: bob.token }))).toEqual({
          emoji: '👍',
          users: [bob.userId],
        });
        const head = (await getRoom(t, alice, room.roomId)).lastSeq;
        expect(expectOk(await t.api('PUT', path, { token: bob.token }))).toEqual({
          emoji: '👍',
          users: [bob.userId],
        });
        expect((await getRoom(t, alice, room.roomId)).lastSeq).toBe(head);

        expect(expectOk(await t.api('PUT', path, { token: alice.token })).users).toEqual([
          bob.userId,
          alice.userId,
        ]);
        expectOk(
          await t.api('PUT', msgPath(room.roomId, m.messageId, '/reactions/:tada:'), { token: bob.token }),
        );
        expect((await history(t, alice, room.roomId))[0].reactions).toEqual({
          '👍': [bob.userId, alice.userId],
          ':tada:': [bob.userId],
        });
        const [evt] = (await events(t, alice, room.roomId)).slice(-1);
        expect(evt).toMatchObject({
          type: 'reaction_updated',
          messageId: m.messageId,
          emoji: ':tada:',
          userId: bob.userId,
          action: 'added',
        });

        expect(expectOk(await t.api('DELETE', path, { token: bob.token }))).toEqual({
          emoji: '👍',
          users: [alice.userId],
        });
        const head2 = (await getRoom(t, alice, room.roomId)).lastSeq;
        expect(expectOk(await t.api('DELETE', path, { token: bob.token }))).toEqual({
          emoji: '👍',
          users: [alice.userId],
        });
        expect((await getRoom(t, alice, room.roomId)).lastSeq).toBe(head2);
        expect(
          expectOk(await t.api('GET', msgPath(room.roomId, m.messageId), { token: bob.token })).reactions,
        ).toEqual({ '👍': [alice.userId], ':tada:': [bob.userId] });
      });
    });

    describe('pins', () => {
      it('in public rooms only moderators and above pin', async () => {
        const [alice, bob, carol] = await users(3);
        const room = await roomWith(alice, bob, carol);
        await setRole(t, alice, room.roomId, carol, 'moderator');
        const m1 = await send(t, bob, room.roomId, 'pin me');
        const m2 = await send(t, bob, room.roomId, 'me too');
        const pinPath = (m: any) => msgPath(room.roomId, m.messageId, '/pin');
        const pins = async () =>
          expectOk(await t.api('GET', `/v1/chat/rooms/${room.roomId}/pins`, { token: bob.token })).messages;

        const head = (await getRoom(t, alice, room.roomId)).lastSeq;
        expectError(await t.api('PUT', pinPath(m1), { token: bob.token }), 403, 'FORBIDDEN');
        expect((await getRoom(t, alice, room.roomId)).lastSeq).toBe(head);
        expect(await pins()).toEqual([]);

        expect(expectOk(await t.api('PUT', pinPath(m1), { token: carol.token }))).toMatchObject({
          messageId: m1.messageId,
          isPinned: true,
        });
        // Pinning again changes nothing.
        const head2 = (await getRoom(t, alice, room.roomId)).lastSeq;
        expect(expectOk(await t.api('PUT', pinPath(m1), { token: alice.token })).isPinned).toBe(true);
        expect((await getRoom(t, alice, room.roomId)).lastSeq).toBe(head2);
        expectOk(await t.api('PUT', pinPath(m2), { token: alice.token }));
        expect((await pins()).map((m: any) => m.messageId).sort()).toEqual(
          [m1.messageId, m2.messageId].sort(),
        );
        expect((await history(t, bob, room.roomId))[0].isPinned).toBe(true);

        expectError(await t.api('DELETE', pinPath(m1), { token: bob.token }), 403, 'FORBIDDEN');
        expect(expectOk(await t.api('DELETE', pinPath(m1), { token: carol.token })).isPinned).toBe(false);
        expect((await pins()).map((m: any) => m.messageId)).toEqual([m2.messageId]);

        // Deleting a pinned message unpins it.
        expectOk(await t.api('DELETE', msgPath(room.roomId, m2.messageId), { token: bob.token }));
        expect(await pins()).toEqual([]);
      });

      it('in group and direct rooms anyone pins', async () => {
        const [alice, bob] = await users(2);
        const group = await t.newRoom(alice, { type: 'group', memberIds: [bob.userId] });
        const g = await send(t, alice, group.roomId, 'group note');
        expect(
          expectOk(await t.api('PUT', msgPath(group.roomId, g.messageId, '/pin'), { token: bob.token }))
            .isPinned,
        ).toBe(true);

        const dm = await send(t, bob, (await openDirect(alice, bob)).roomId, 'dm note');
        expect(
          expectOk(await t.api('PUT', msgPath(dm.roomId, dm.messageId, '/pin'), { token: alice.token }))
            .isPinned,
        ).toBe(true);
        const pinned = expectOk(await t.api('GET', `/v1/chat/rooms/${dm.roomId}/pins`, { token: bob.token }));
        expect(pinned.messages.map((m: any) => m.messageId)).toEqual([dm.messageId]);
        expect(
          expectOk(await t.api('DELETE', msgPath(dm.roomId, dm.messageId, '/pin'), { token: bob.token }))
            .isPinned,
        ).toBe(false);
      });
    });

    describe('read state', () => {
      it('marks read up to a seq: unreadCount and the room list go down', async () => {
        const [alice, bob] = await users(2);
        const room = await roomWith(alice, bob);
        const sent = [];
        for (let i = 0; i < 4; i++) sent.push(await send(t, alice, room.roomId, `n${i}`));
        const unreadInList = async () =>
          (await joinedRooms(t, bob)).find((r) => r.roomId === room.roomId)!.unreadCount;
        const read = async (seq: number) =>
          expectOk(
            await t.api('POST', `/v1/chat/rooms/${room.roomId}/read`, { token: bob.token, body: { seq } }),
          );

        expect(await unreadInList()).toBe(4);
        expect(await read(sent[1].seq)).toMatchObject({ readSeq: sent[1].seq, unreadCount: 2 });
        expect(await unreadInList()).toBe(2);
        expect(await getRoom(t, bob, room.roomId)).toMatchObject({ readSeq: sent[1].seq, unreadCount: 2 });

        // Never backwards.
        expect(await read(sent[0].seq)).toMatchObject({ readSeq: sent[1].seq, unreadCount: 2 });
        // Past the head is clamped to it.
        const head = (await getRoom(t, bob, room.roomId)).lastSeq;
        expect(await read(head + 100)).toMatchObject({ readSeq: head, unreadCount: 0 });
        expect(await unreadInList()).toBe(0);

        // New messages count again; the sender's own do not count for the sender.
        await send(t, alice, room.roomId, 'more');
        expect(await unreadInList()).toBe(1);
        await send(t, bob, room.roomId, 'reply');
        expect(await unreadInList()).toBe(0);
        expect((await joinedRooms(t, alice)).find((r) => r.roomId === room.roomId)!.unreadCount).toBe(1);

        const outsider = await t.newUser();
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/read`, {
            token: outsider.token,
            body: { seq: 1 },
          }),
          403,
          'NOT_A_MEMBER',
        );
      });
    });

    async function openDirect(a: TestUser, b: TestUser) {
      return expectOk(await t.api('POST', '/v1/chat/direct', { token: a.token, body: { userId: b.userId } }));
    }

    describe('direct messages', () => {
      it('finds or creates the same room on repeated sends from either side', async () => {
        const [alice, bob] = await users(2);
        const dm = (from: TestUser, to: TestUser, content: string) =>
          t.api('POST', `/v1/chat/direct/${to.userId}/messages`, { token: from.token, body: { content } });

        const m1 = expectOk(await dm(alice, bob, 'hey bob'), 201);
        const m2 = expectOk(await dm(alice, bob, 'you there?'), 201);
        const m3 = expectOk(await dm(bob, alice, 'yes'), 201);
        expect(m2.roomId).toBe(m1.roomId);
        expect(m3.roomId).toBe(m1.roomId);
        expect([m2.seq - m1.seq, m3.seq - m2.seq]).toEqual([1, 1]);

        expect((await openDirect(bob, alice)).roomId).toBe(m1.roomId);
        expect((await history(t, bob, m1.roomId)).map((m) => [m.authorId, m.content])).toEqual([
          [alice.userId, 'hey bob'],
          [alice.userId, 'you there?'],
          [bob.userId, 'yes'],
        ]);
        for (const u of [alice, bob]) {
          const rooms = await joinedRooms(t, u);
          expect(rooms.map((r) => [r.roomId, r.type])).toEqual([[m1.roomId, 'direct']]);
        }
        expect((await joinedRooms(t, alice))[0].unreadCount).toBe(1);

        // Idempotent DMs too.
        const k1 = expectOk(
          await t.api('POST', `/v1/chat/direct/${bob.userId}/messages`, {
            token: alice.token,
            body: { content: 'once', clientMsgId: 'dm-1' },
          }),
          201,
        );
        const k2 = expectOk(
          await t.api('POST', `/v1/chat/direct/${bob.userId}/messages`, {
            token: alice.token,
            body: { content: 'once', clientMsgId: 'dm-1' },
          }),
          200,
        );
        expect(k2).toMatchObject({ duplicate: true, messageId: k1.messageId });
        expect(await history(t, bob, m1.roomId)).toHaveLength(4);
      });

      it('refuses DMs to yourself and to unknown users, creating no room', async () => {
        const [alice] = await users(1);
        expectError(
          await t.api('POST', `/v1/chat/direct/${alice.userId}/messages`, {
            token: alice.token,
            body: { content: 'me' },
          }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await t.api('POST', '/v1/chat/direct/usr_ghost/messages', {
            token: alice.token,
            body: { content: 'boo' },
          }),
          404,
          'USER_NOT_FOUND',
        );
        expect(await joinedRooms(t, alice)).toEqual([]);
      });
    });

    describe('room log', () => {
      it('returns every event in seq order with no gaps, and pages with after', async () => {
        const [alice, bob, carol] = await users(3);
        const room = await roomWith(alice, bob);
        const m = await send(t, bob, room.roomId, 'first');
        await t.api('PATCH', msgPath(room.roomId, m.messageId), {
          token: bob.token,
          body: { content: 'first!' },
        });
        await t.api('PUT', msgPath(room.roomId, m.messageId, '/reactions/ok'), { token: alice.token });
        await t.api('PUT', msgPath(room.roomId, m.messageId, '/pin'), { token: alice.token });
        await join(t, carol, room.roomId);
        await setRole(t, alice, room.roomId, carol, 'moderator');
        await t.api('DELETE', msgPath(room.roomId, m.messageId), { token: carol.token });
        await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/leave`, { token: bob.token });

        const head = (await getRoom(t, alice, room.roomId)).lastSeq;
        const res = expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/events`, { token: alice.token }),
        );
        expect(res.lastSeq).toBe(head);
        expect(res.hasMore).toBe(false);
        expect(res.events.map((e: any) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
        expect(res.events.map((e: any) => e.type)).toEqual([
          'room_created',
          'user_joined',
          'user_joined',
          'new_message',
          'message_updated',
          'reaction_updated',
          'message_updated',
          'user_joined',
          'member_updated',
          'message_deleted',
          'user_left',
        ]);
        for (const e of res.events) {
          expect(e).toMatchObject({ roomId: room.roomId, createdAt: expect.any(String) });
        }

        const tail = expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/events?after=4&limit=3`, { token: carol.token }),
        );
        expect(tail.events.map((e: any) => e.seq)).toEqual([5, 6, 7]);
        expect(tail.hasMore).toBe(true);
        const rest = expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/events?after=7&limit=100`, {
            token: carol.token,
          }),
        );
        expect(rest.events.map((e: any) => e.seq)).toEqual(Array.from({ length: head - 7 }, (_, i) => i + 8));
        expect(rest.hasMore).toBe(false);
        const none = expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/events?after=${head}`, { token: alice.token }),
        );
        expect(none).toEqual({ events: [], hasMore: false, lastSeq: head });
      });
    });
  });
}
