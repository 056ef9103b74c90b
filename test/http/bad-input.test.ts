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
  MISSING_MESSAGE,
  MISSING_ROOM,
  send,
} from './http-helpers.js';

const MAX_MESSAGE_LENGTH = 100;
const MAX_BODY_SIZE = 2048;

for (const backend of await availableBackends()) {
  describe(`bad input (${backend})`, () => {
    let t: TestApp;
    let alice: TestUser;
    let bob: TestUser;
    let room: any;
    let msg: any;
    beforeAll(async () => {
      t = await startTestApp(backend, {
        MAX_MESSAGE_LENGTH: String(MAX_MESSAGE_LENGTH),
        MAX_BODY_SIZE: String(MAX_BODY_SIZE),
      });
      [alice, bob] = await Promise.all([t.newUser(), t.newUser()]);
      room = await t.newRoom(alice);
      await join(t, bob, room.roomId);
      msg = await send(t, alice, room.roomId, 'the only message');
    });
    afterAll(() => t.close());

    /** What must not change after a rejected request. */
    async function snapshot() {
      const [r, msgs, alicesRooms, bobsRooms] = await Promise.all([
        getRoom(t, alice, room.roomId),
        history(t, alice, room.roomId),
        joinedRooms(t, alice),
        joinedRooms(t, bob),
      ]);
      return {
        lastSeq: r.lastSeq,
        room: { name: r.name, description: r.description, settings: r.settings, maxMembers: r.maxMembers },
        messages: msgs,
        alicesRooms: alicesRooms.map((x) => x.roomId).sort(),
        bobsRooms: bobsRooms.map((x) => x.roomId).sort(),
      };
    }
    /** Runs `fn`, which must be rejected, and checks that nothing was stored. */
    async function rejectedWithoutEffect(fn: () => Promise<void>) {
      const before = await snapshot();
      await fn();
      expect(await snapshot()).toEqual(before);
    }
    const sendRaw = (body: unknown, headers?: Record<string, string>) =>
      t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, { token: bob.token, body, headers });

    it('malformed JSON -> 400 MALFORMED_JSON', async () => {
      await rejectedWithoutEffect(async () => {
        for (const raw of [
          '{"content": "hi"',
          '{content: "hi"}',
          "{'content':'hi'}",
          '{"content":"hi"}}',
          'nope',
        ]) {
          expectError(await sendRaw(raw), 400, 'MALFORMED_JSON');
        }
        expectError(
          await t.api('POST', '/v1/chat/rooms', { token: alice.token, body: '{"name":"x","type":' }),
          400,
          'MALFORMED_JSON',
        );
        expectError(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
            token: alice.token,
            body: '{"name":"x",}',
          }),
          400,
          'MALFORMED_JSON',
        );
        // An empty body that claims to be JSON.
        expectError(await sendRaw(''), 400, 'MALFORMED_JSON');
      });
    });

    it('a body that is not JSON -> 400', async () => {
      await rejectedWithoutEffect(async () => {
        const r = await sendRaw('content=hi', { 'content-type': 'application/x-www-form-urlencoded' });
        expectError(r, 400, 'VALIDATION_FAILED');
        expectError(await sendRaw('hi', { 'content-type': 'text/plain' }), 400, 'VALIDATION_FAILED');
        // JSON that is not an object.
        for (const raw of ['"hi"', '[]', 'null', '42'])
          expectError(await sendRaw(raw), 400, 'VALIDATION_FAILED');
      });
    });

    it('wrong types -> 400 VALIDATION_FAILED', async () => {
      await rejectedWithoutEffect(async () => {
        for (const body of [
          {},
          { content: 42 },
          { content: true },
          { content: null },
          { content: { text: 'hi' } },
          { content: ['hi'] },
          { content: 'hi', type: 'system' },
          { content: 'hi', type: 7 },
          { content: 'hi', replyTo: 5 },
          { content: 'hi', clientMsgId: '' },
          { content: 'hi', clientMsgId: 'x'.repeat(65) },
          { content: 'hi', isAnonymous: 'yes' },
          { content: 'hi', metadata: 'meta' },
        ]) {
          const r = await sendRaw(body);
          expect({ body, status: r.status, code: r.body.error?.code }).toEqual({
            body,
            status: 400,
            code: 'VALIDATION_FAILED',
          });
        }

        const create = (body: unknown) => t.api('POST', '/v1/chat/rooms', { token: alice.token, body });
        for (const body of [
          { type: 'public' },
          { name: '', type: 'public' },
          { name: '   ', type: 'public' },
          { name: 'x'.repeat(101), type: 'public' },
          { name: 42, type: 'public' },
          { name: 'ok', type: 'secret' },
          { name: 'ok', type: 'public', maxMembers: 'lots' },
          { name: 'ok', type: 'public', maxMembers: 1 },
          { name: 'ok', type: 'public', maxMembers: 2.5 },
          { name: 'ok', type: 'public', allowInvites: 'maybe' },
          { name: 'ok', type: 'public', memberIds: bob.userId },
          { name: 'ok', type: 'public', avatar: 'not a url' },
          { name: 'ok', type: 'public', settings: { moderationLevel: 'extreme' } },
        ]) {
          const r = await create(body);
          expect({ body, status: r.status, code: r.body.error?.code }).toEqual({
            body,
            status: 400,
            code: 'VALIDATION_FAILED',
          });
        }

        const patch = (body: unknown) =>
          t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, { token: alice.token, body });
        for (const body of [{}, { name: null }, { maxMembers: -1 }, { settings: { allowInvites: 'no' } }]) {
          expectError(await patch(body), 400, 'VALIDATION_FAILED');
        }
        for (const body of [{}, { seq: -1 }, { seq: 'abc' }, { seq: 1.5 }]) {
          expectError(
            await t.api('POST', `/v1/chat/rooms/${room.roomId}/read`, { token: bob.token, body }),
            400,
            'VALIDATION_FAILED',
          );
        }
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/invite`, {
            token: alice.token,
            body: { userIds: [] },
          }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await t.api('POST', '/v1/chat/direct', { token: alice.token, body: { userId: 7 } }),
          400,
          'VALIDATION_FAILED',
        );
      });
    });

    it('validation errors say where the problem is', async () => {
      const r = await sendRaw({ content: 'hi', type: 'system' });
      expectError(r, 400, 'VALIDATION_FAILED');
      expect(r.body.error.message).toContain('type');
      expect(r.body.error.details).toMatchObject({ issues: [expect.objectContaining({ path: '/type' })] });
    });

    it('unknown fields -> 400', async () => {
      await rejectedWithoutEffect(async () => {
        expectError(await sendRaw({ content: 'hi', sender: alice.userId }), 400, 'VALIDATION_FAILED');
        expectError(
          await t.api('POST', '/v1/chat/rooms', {
            token: alice.token,
            body: { name: 'x', type: 'public', owner: bob.userId },
          }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
            token: alice.token,
            body: { name: 'renamed', type: 'private' },
          }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
            token: alice.token,
            body: { settings: { allowInvites: false, superpowers: true } },
          }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}/members/${bob.userId}`, {
            token: alice.token,
            body: { role: 'moderator', permanent: true },
          }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}/messages/${msg.messageId}`, {
            token: alice.token,
            body: { content: 'edited', isPinned: true },
          }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/bans`, {
            token: alice.token,
            body: { userId: bob.userId, forever: true },
          }),
          400,
          'VALIDATION_FAILED',
        );
      });
    });

    it(`content over MAX_MESSAGE_LENGTH (${MAX_MESSAGE_LENGTH}) -> 400 MESSAGE_TOO_LONG`, async () => {
      await rejectedWithoutEffect(async () => {
        expectError(await sendRaw({ content: 'x'.repeat(MAX_MESSAGE_LENGTH + 1) }), 400, 'MESSAGE_TOO_LONG');
        expectError(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}/messages/${msg.messageId}`, {
            token: alice.token,
            body: { content: 'y'.repeat(MAX_MESSAGE_LENGTH + 1) },
          }),
          400,
          'MESSAGE_TOO_LONG',
        );
        // A DM that is too long does not even open the conversation.
        const carol = await t.newUser();
        expectError(
          await t.api('POST', `/v1/chat/direct/${carol.userId}/messages`, {
            token: bob.token,
            body: { content: 'z'.repeat(MAX_MESSAGE_LENGTH + 1) },
          }),
          400,
          'MESSAGE_TOO_LONG',
        );
        expect(await joinedRooms(t, carol)).toEqual([]);
      });
      // Exactly the limit is fine.
      const ok = await send(t, bob, room.roomId, 'x'.repeat(MAX_MESSAGE_LENGTH));
      expect(ok.content).toHaveLength(MAX_MESSAGE_LENGTH);
    });

    it('empty or whitespace-only content -> 400', async () => {
      await rejectedWithoutEffect(async () => {
        for (const content of ['', ' ', '   \n\t  ', '\u00a0\u2003']) {
          expectError(await sendRaw({ content }), 400, 'VALIDATION_FAILED');
        }
        expectError(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}/messages/${msg.messageId}`, {
            token: alice.token,
            body: { content: ' \n ' },
          }),
          400,
          'VALIDATION_FAILED',
        );
      });
      expect((await history(t, alice, room.roomId)).find((m) => m.messageId === msg.messageId)).toMatchObject(
        {
          content: 'the only message',
          isEdited: false,
        },
      );
    });

    it(`body over MAX_BODY_SIZE (${MAX_BODY_SIZE}) -> 413 PAYLOAD_TOO_LARGE`, async () => {
      await rejectedWithoutEffect(async () => {
        const big = { content: 'x'.repeat(MAX_BODY_SIZE + 10) };
        expectError(await sendRaw(big), 413, 'PAYLOAD_TOO_LARGE');
        expectError(
          await sendRaw({ content: 'small', metadata: { blob: 'b'.repeat(MAX_BODY_SIZE) } }),
          413,
          'PAYLOAD_TOO_LARGE',
        );
        expectError(
          await t.api('POST', '/v1/chat/rooms', {
            token: alice.token,
            body: { name: 'big', type: 'public', description: 'd'.repeat(MAX_BODY_SIZE) },
          }),
          413,
          'PAYLOAD_TOO_LARGE',
        );
      });
    });

    it('unknown room or message -> 404', async () => {
      await rejectedWithoutEffect(async () => {
        const base = `/v1/chat/rooms/${MISSING_ROOM}`;
        expectError(
          await t.api('POST', `${base}/messages`, { token: bob.token, body: { content: 'hi' } }),
          404,
          'ROOM_NOT_FOUND',
        );
        expectError(await t.api('GET', `${base}/messages`, { token: bob.token }), 404, 'ROOM_NOT_FOUND');
        expectError(await t.api('POST', `${base}/join`, { token: bob.token }), 404, 'ROOM_NOT_FOUND');
        expectError(await t.api('GET', `${base}/members`, { token: bob.token }), 404, 'ROOM_NOT_FOUND');
        const m = `/v1/chat/rooms/${room.roomId}/messages/${MISSING_MESSAGE}`;
        expectError(await t.api('GET', m, { token: bob.token }), 404, 'MESSAGE_NOT_FOUND');
        expectError(await t.api('PUT', `${m}/reactions/ok`, { token: bob.token }), 404, 'MESSAGE_NOT_FOUND');
        expectError(await t.api('PUT', `${m}/pin`, { token: alice.token }), 404, 'MESSAGE_NOT_FOUND');
      });
    });

    it('malformed ids in the path -> 400', async () => {
      const long = `room_${'x'.repeat(64)}`;
      expectError(
        await t.api('GET', `/v1/chat/rooms/${long}`, { token: bob.token }),
        400,
        'VALIDATION_FAILED',
      );
      expectError(
        await t.api('GET', `/v1/chat/rooms/${room.roomId}/messages/${'m'.repeat(65)}`, { token: bob.token }),
        400,
        'VALIDATION_FAILED',
      );
    });

    it('unknown route -> 404 NOT_FOUND envelope', async () => {
      for (const [method, path] of [
        ['GET', '/v1/chat/nowhere'],
        ['GET', '/v2/chat/rooms'],
        ['POST', `/v1/chat/rooms/${room.roomId}/teleport`],
        ['PUT', '/v1/chat/rooms'],
        ['GET', '/v1'],
      ] as const) {
        const r = await t.api(method, path, { token: bob.token });
        expect({ status: r.status, body: r.body }).toEqual({
          status: 404,
          body: {
            success: false,
            error: { code: 'NOT_FOUND', message: expect.stringContaining(path.split('?')[0]!) },
          },
        });
      }
      // Also without a token: the route does not exist, whoever asks.
      expectError(await t.api('GET', '/v1/chat/nowhere'), 404, 'NOT_FOUND');
    });

    it('bad emoji -> 400 VALIDATION_FAILED, no reaction stored', async () => {
      await rejectedWithoutEffect(async () => {
        for (const emoji of ['a b', '%20', 'x'.repeat(33), '%07', 'tab%09tab', '%C2%A0', '%7F']) {
          const r = await t.api(
            'PUT',
            `/v1/chat/rooms/${room.roomId}/messages/${msg.messageId}/reactions/${emoji}`,
            {
              token: bob.token,
            },
          );
          expect({ emoji, status: r.status, code: r.body.error?.code }).toEqual({
            emoji,
            status: 400,
            code: 'VALIDATION_FAILED',
          });
        }
        expectError(
          await t.api(
            'PUT',
            `/v1/chat/rooms/${room.roomId}/messages/${msg.messageId}/reactions/${'y'.repeat(65)}`,
            {
              token: bob.token,
            },
          ),
          400,
          'VALIDATION_FAILED',
        );
      });
      expect(
        (await history(t, alice, room.roomId)).find((m) => m.messageId === msg.messageId)?.reactions,
      ).toEqual({});
    });

    it('a rejected request does not disturb the next good one', async () => {
      expectError(await sendRaw('{"content":'), 400, 'MALFORMED_JSON');
      const head = (await getRoom(t, alice, room.roomId)).lastSeq;
      const ok = await send(t, bob, room.roomId, 'still works');
      expect(ok.seq).toBe(head + 1);
      expectOk(
        await t.api('GET', `/v1/chat/rooms/${room.roomId}/messages/${ok.messageId}`, { token: alice.token }),
      );
    });
  });

  describe(`send rate limit (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend, { SEND_RATE_LIMIT: '2' });
    });
    afterAll(() => t.close());

    it('answers 429 RATE_LIMITED past SEND_RATE_LIMIT, storing nothing', async () => {
      const [alice, bob] = await Promise.all([t.newUser(), t.newUser()]);
      const room = await t.newRoom(alice);
      await join(t, bob, room.roomId);
      const post = (u: TestUser, content: string) =>
        t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, { token: u.token, body: { content } });

      // Three sends at once: the allowance is two per second.
      const results = await Promise.all(['one', 'two', 'three'].map((c) => post(alice, c)));
      expect(results.map((r) => r.status).sort()).toEqual([201, 201, 429]);
      const limited = results.find((r) => r.status === 429)!;
      expectError(limited, 429, 'RATE_LIMITED');
      expect(limited.body.error.details).toMatchObject({ retryAfterMs: expect.any(Number) });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

      const stored = results.filter((r) => r.status === 201).map((r) => r.body.data.messageId);
      expect((await history(t, alice, room.roomId)).map((m) => m.messageId)).toEqual(
        [...stored].sort(
          (a, b) =>
            results.find((r) => r.body.data?.messageId === a)!.body.data.seq -
            results.find((r) => r.body.data?.messageId === b)!.body.data.seq,
        ),
      );
      // The limit is per user: bob is unaffected.
      expect((await post(bob, 'bob here')).status).toBe(201);
      expect(await history(t, bob, room.roomId)).toHaveLength(3);
    });
  });
}
