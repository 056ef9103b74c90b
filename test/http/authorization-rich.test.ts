import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { expectOk, getRoom, join, newUsers } from './http-helpers.js';

type Op = [method: string, path: string, body?: unknown, headers?: Record<string, string>];

/**
 * The room-scoped operations added for rich messaging (polls, mutes, join requests, delivery
 * receipts, attachments), for a room, a poll, an uploaded attachment and a target user. The older
 * room and message operations are swept in authorization.test.ts.
 */
function richOperations(roomId: string, pollId: string, attachmentId: string, userId: string): Op[] {
  const r = `/v1/chat/rooms/${roomId}`;
  return [
    ['GET', `${r}/polls/${pollId}`],
    ['POST', `${r}/polls`, { question: 'Q?', options: ['a', 'b'] }],
    ['PUT', `${r}/polls/${pollId}/votes`, { optionIds: ['opt1'] }],
    ['POST', `${r}/polls/${pollId}/close`],
    ['POST', `${r}/mutes`, { userId, durationSeconds: 60 }],
    ['DELETE', `${r}/mutes/${userId}`],
    ['GET', `${r}/join-requests`],
    ['POST', `${r}/join-requests/${userId}/approve`],
    ['POST', `${r}/join-requests/${userId}/reject`],
    ['POST', `${r}/delivered`, { seq: 1 }],
    ['POST', `${r}/attachments`, { fileName: 'a.txt', mimeType: 'text/plain', size: 3 }],
    ['POST', `${r}/attachments/content?fileName=a.txt`, 'abc', { 'content-type': 'text/plain' }],
    ['POST', `${r}/attachments/${attachmentId}/complete`],
    ['DELETE', `${r}/attachments/${attachmentId}`],
  ];
}

const key = ([m, p]: Op) => `${m} ${p.replace(/(room|msg|att|usr)_[a-z0-9]+/g, ':$1')}`;

for (const backend of await availableBackends()) {
  describe(`authorization of rich messaging operations (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    const call = (u: TestUser | undefined, [method, path, body, headers]: Op) =>
      t.api(method, path, { token: u?.token, body, headers });

    /** A room of `type` owned by alice with bob and carol in it, a poll and an unsent upload of alice's. */
    async function setup(type: 'public' | 'private') {
      const [alice, bob, carol, eve] = await newUsers(t, 4);
      const room = await t.newRoom(alice, {
        type,
        memberIds: type === 'private' ? [bob.userId, carol.userId] : [],
      });
      if (type === 'public') for (const u of [bob, carol]) await join(t, u, room.roomId);
      const poll = expectOk(
        await t.api('POST', `/v1/chat/rooms/${room.roomId}/polls`, {
          token: alice.token,
          body: { question: 'Lunch?', options: ['pizza', 'sushi'] },
        }),
        201,
      );
      const upload = expectOk(
        await t.api('POST', `/v1/chat/rooms/${room.roomId}/attachments`, {
          token: alice.token,
          body: { fileName: 'x.txt', mimeType: 'text/plain', size: 1 },
        }),
        201,
      );
      const ops = richOperations(room.roomId, poll.message.messageId, upload.attachment.id, bob.userId);
      return { alice, bob, carol, eve, roomId: room.roomId as string, ops };
    }

    it('a private room answers every operation of an outsider with 404, and nothing changes', async () => {
      const { alice, eve, roomId, ops } = await setup('private');
      const before = await getRoom(t, alice, roomId);
      for (const op of ops) {
        const r = await call(eve, op);
        // Attachment ids are checked before rooms for their owner's own operations.
        const expected = /attachments\/att_/.test(op[1]) ? 'ATTACHMENT_NOT_FOUND' : 'ROOM_NOT_FOUND';
        expect({ op: key(op), status: r.status, code: r.body.error?.code }).toEqual({
          op: key(op),
          status: 404,
          code: expected,
        });
      }
      expect(await getRoom(t, alice, roomId)).toMatchObject({ lastSeq: before.lastSeq, memberCount: 3 });
    });

    it('a public room lets an outsider read a poll but refuses every write with NOT_A_MEMBER', async () => {
      const { alice, eve, roomId, ops } = await setup('public');
      const before = await getRoom(t, alice, roomId);
      const answers = Object.fromEntries(
        await Promise.all(
          ops.map(async (op) => [key(op), (await call(eve, op)).body.error?.code ?? 'ok'] as const),
        ),
      );
      expect(answers).toEqual({
        'GET /v1/chat/rooms/:room/polls/:msg': 'ok',
        'POST /v1/chat/rooms/:room/polls': 'NOT_A_MEMBER',
        'PUT /v1/chat/rooms/:room/polls/:msg/votes': 'NOT_A_MEMBER',
        'POST /v1/chat/rooms/:room/polls/:msg/close': 'NOT_A_MEMBER',
        'POST /v1/chat/rooms/:room/mutes': 'NOT_A_MEMBER',
        'DELETE /v1/chat/rooms/:room/mutes/:usr': 'NOT_A_MEMBER',
        'GET /v1/chat/rooms/:room/join-requests': 'NOT_A_MEMBER',
        'POST /v1/chat/rooms/:room/join-requests/:usr/approve': 'NOT_A_MEMBER',
        'POST /v1/chat/rooms/:room/join-requests/:usr/reject': 'NOT_A_MEMBER',
        'POST /v1/chat/rooms/:room/delivered': 'NOT_A_MEMBER',
        'POST /v1/chat/rooms/:room/attachments': 'NOT_A_MEMBER',
        'POST /v1/chat/rooms/:room/attachments/content?fileName=a.txt': 'NOT_A_MEMBER',
        'POST /v1/chat/rooms/:room/attachments/:att/complete': 'ATTACHMENT_NOT_FOUND',
        'DELETE /v1/chat/rooms/:room/attachments/:att': 'ATTACHMENT_NOT_FOUND',
      });
      expect(await getRoom(t, alice, roomId)).toMatchObject({ lastSeq: before.lastSeq, memberCount: 3 });
    });

    it("a plain member cannot moderate, manage join requests, close others' polls or touch others' uploads", async () => {
      const { alice, carol, roomId, ops } = await setup('public');
      const before = await getRoom(t, alice, roomId);
      const denied = ops.filter(([, p]) => /\/close$|\/mutes|\/join-requests|\/attachments\/att_/.test(p));
      expect(denied).toHaveLength(8);
      for (const op of denied) {
        const r = await call(carol, op);
        const expected = /attachments\/att_/.test(op[1])
          ? { status: 404, code: 'ATTACHMENT_NOT_FOUND' }
          : { status: 403, code: 'FORBIDDEN' };
        expect({ op: key(op), status: r.status, code: r.body.error?.code }).toEqual({
          op: key(op),
          ...expected,
        });
      }
      expect(await getRoom(t, alice, roomId)).toMatchObject({ lastSeq: before.lastSeq });
    });

    it('every operation needs a token, and so do the admin and attachment routes', async () => {
      const { roomId, ops } = await setup('public');
      const more: Op[] = [
        ['GET', '/v1/admin/client-errors'],
        ['POST', '/v1/admin/announcements', { content: 'hi' }],
        ['GET', '/v1/announcements'],
        ['POST', '/v1/client-errors', { message: 'boom' }],
        ['GET', '/v1/chat/search?q=x'],
        ['GET', '/v1/attachments/att_x'],
        ['GET', '/v1/attachments/att_x/thumbnail'],
        ['GET', '/v1/attachments/att_x/url'],
        ['GET', '/v1/attachments/att_x/info'],
        ['GET', `/v1/chat/rooms/${roomId}/join-requests`],
      ];
      for (const op of [...ops, ...more]) {
        const r = await call(undefined, op);
        expect({ op: key(op), status: r.status, code: r.body.error?.code }).toEqual({
          op: key(op),
          status: 401,
          code: 'UNAUTHENTICATED',
        });
      }
    });

    it('admin-only server routes refuse ordinary users', async () => {
      const [u] = await newUsers(t, 1);
      for (const op of [
        ['GET', '/v1/admin/client-errors'],
        ['POST', '/v1/admin/announcements', { content: 'hi' }],
      ] as Op[]) {
        const r = await call(u, op);
        expect({ op: key(op), status: r.status, code: r.body.error?.code }).toEqual({
          op: key(op),
          status: 403,
          code: 'FORBIDDEN',
        });
      }
    });
  });
}
