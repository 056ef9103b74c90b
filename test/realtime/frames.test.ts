import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SendInput } from '../../src/messages/messages.service.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  closeAll,
  contents,
  type Frame,
  is,
  joinRest,
  live,
  msgIn,
  newUsers,
  WsClient,
} from './ws-client.js';

const ENV = { RESUME_WAIT_MS: '50', PRESENCE_OFFLINE_GRACE_MS: '0' };

for (const backend of await availableBackends()) {
  describe(`frames: acks and errors (${backend})`, () => {
    let t: TestApp;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, { ...ENV, WS_MAX_FRAME_BYTES: '2048' });
    });
    afterAll(async () => {
      await closeAll(clients);
      await t.close();
    });
    async function connected() {
      const [user] = await newUsers(t, 1);
      const c = await live(t, user);
      clients.push(c);
      return { user, c };
    }

    it('acks send_message with its id, message id and seq; a retried clientMsgId is a duplicate', async () => {
      const { user, c } = await connected();
      const room = await t.newRoom(user);
      const ack = await c.request({
        type: 'send_message',
        roomId: room.roomId,
        content: 'hi',
        clientMsgId: 'once',
      });
      expect(ack).toEqual({
        type: 'ack',
        id: expect.any(String),
        for: 'send_message',
        status: 'sent',
        roomId: room.roomId,
        messageId: expect.stringMatching(/^msg_/),
        seq: room.lastSeq + 1,
        clientMsgId: 'once',
        duplicate: false,
        timestamp: expect.any(String),
      });
      const event = await c.next(msgIn(room.roomId));
      expect(event).toMatchObject({ seq: ack.seq, message: { messageId: ack.messageId, content: 'hi' } });

      const retry = await c.request({
        type: 'send_message',
        roomId: room.roomId,
        content: 'hi',
        clientMsgId: 'once',
      });
      expect(retry).toMatchObject({ type: 'ack', messageId: ack.messageId, seq: ack.seq, duplicate: true });
      expect(retry.id).not.toBe(ack.id);
      // A duplicate commits nothing, so nothing new is delivered.
      await c.barrier();
      expect(c.all(msgIn(room.roomId))).toHaveLength(1);

      // Numeric ids are echoed as numbers.
      c.send({ type: 'send_message', id: 42, roomId: room.roomId, content: 'n' });
      expect((await c.waitFor((f) => f.id === 42)).type).toBe('ack');
    });

    it('answers non-JSON with MALFORMED_JSON and keeps the connection', async () => {
      const { c } = await connected();
      c.send('{not json');
      expect(await c.next(is('error'))).toEqual({
        type: 'error',
        code: 'MALFORMED_JSON',
        message: expect.any(String),
      });
      expect((await c.request({ type: 'ping' })).type).toBe('pong');
      c.send('[1,2]');
      expect(await c.next(is('error'))).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(c.isOpen).toBe(true);
    });

    it('answers an unknown frame type with UNKNOWN_FRAME_TYPE, echoing the id', async () => {
      const { c } = await connected();
      expect(await c.request({ type: 'launch_rockets' })).toMatchObject({
        type: 'error',
        code: 'UNKNOWN_FRAME_TYPE',
        message: expect.stringContaining('launch_rockets'),
      });
      c.send({ id: 'no-type' });
      expect(await c.waitFor((f) => f.id === 'no-type')).toMatchObject({ code: 'UNKNOWN_FRAME_TYPE' });
    });

    it('answers wrong field types and extra fields with VALIDATION_FAILED naming the field', async () => {
      const { user, c } = await connected();
      const room = await t.newRoom(user);
      const wrongType = await c.request({ type: 'send_message', roomId: 123, content: 'x' });
      expect(wrongType).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
      expect(wrongType.message).toContain('/roomId');
      const extra = await c.request({ type: 'ping', extra: true });
      expect(extra).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
      const negative = await c.request({ type: 'mark_read', roomId: room.roomId, seq: -1 });
      expect(negative).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
      expect(negative.message).toContain('/seq');
      const empty = await c.request({ type: 'send_message', roomId: room.roomId, content: '' });
      expect(empty).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
      const both = await c.request({
        type: 'send_message',
        roomId: room.roomId,
        toUserId: user.userId,
        content: 'x',
      });
      expect(both).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
      const offline = await c.request({ type: 'set_presence', status: 'offline' });
      expect(offline).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
      await c.barrier();
      expect(c.all(msgIn(room.roomId))).toEqual([]);
    });

    it('answers a frame over WS_MAX_FRAME_BYTES with PAYLOAD_TOO_LARGE and keeps the connection', async () => {
      const { user, c } = await connected();
      const room = await t.newRoom(user);
      c.send({ type: 'send_message', id: 'big', roomId: room.roomId, content: 'x'.repeat(3000) });
      const err = await c.next(is('error'));
      expect(err).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('2048') });
      expect((await c.request({ type: 'ping' })).type).toBe('pong');
      // Nothing was sent; a normal frame still works.
      const ok = await c.request({ type: 'send_message', roomId: room.roomId, content: 'small' });
      expect(ok.type).toBe('ack');
      expect(contents(await c.waitForCount(msgIn(room.roomId), 1))).toEqual(['small']);
    });

    it('closes with 1009 on a frame over four times the limit', async () => {
      const { c } = await connected();
      c.send({ type: 'ping', pad: 'x'.repeat(4 * 2048 + 10) });
      expect((await c.waitClose()).code).toBe(1009);
    });

    it('reports the service error code for rooms one may not post in', async () => {
      const [owner] = await newUsers(t, 1);
      const { c } = await connected();
      const open = await t.newRoom(owner);
      const secret = await t.newRoom(owner, { type: 'private' });
      expect(await c.request({ type: 'send_message', roomId: open.roomId, content: 'x' })).toMatchObject({
        type: 'error',
        code: 'NOT_A_MEMBER',
      });
      expect(await c.request({ type: 'send_message', roomId: secret.roomId, content: 'x' })).toMatchObject({
        type: 'error',
        code: 'ROOM_NOT_FOUND',
      });
      expect(await c.request({ type: 'typing_start', roomId: secret.roomId })).toMatchObject({
        type: 'error',
        code: 'ROOM_NOT_FOUND',
      });
      expect(
        await c.request({ type: 'send_message', roomId: 'room_0000000000000000000000', content: 'x' }),
      ).toMatchObject({ type: 'error', code: 'ROOM_NOT_FOUND' });
      expect(await c.request({ type: 'join_room', roomId: secret.roomId })).toMatchObject({
        type: 'error',
        code: 'ROOM_NOT_FOUND',
      });
      expect(await c.request({ type: 'send_message', toUserId: 'usr_nobody', content: 'x' })).toMatchObject({
        type: 'error',
        code: 'USER_NOT_FOUND',
      });
      // Still usable afterwards.
      expect(await c.request({ type: 'join_room', roomId: open.roomId })).toMatchObject({
        type: 'ack',
        for: 'join_room',
        roomId: open.roomId,
      });
    });

    it('acks message edits, reactions, pins and deletes, and members see the events', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      const a = await live(t, alice);
      const b = await live(t, bob);
      clients.push(a, b);
      const sent = await a.ok({ type: 'send_message', roomId: room.roomId, content: 'draft' });
      const { messageId } = sent;
      await a.ok({ type: 'edit_message', roomId: room.roomId, messageId, content: 'final' });
      const react = await b.ok({ type: 'message_reaction', roomId: room.roomId, messageId, emoji: '👍' });
      expect(react.users).toEqual([bob.userId]);
      const pin = await a.ok({ type: 'pin_message', roomId: room.roomId, messageId });
      expect(pin.isPinned).toBe(true);
      const notYours = await b.request({
        type: 'edit_message',
        roomId: room.roomId,
        messageId,
        content: 'mine',
      });
      expect(notYours).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
      await a.ok({ type: 'delete_message', roomId: room.roomId, messageId });
      const types = [
        'new_message',
        'message_updated',
        'reaction_updated',
        'message_updated',
        'message_deleted',
      ];
      const inRoom = (f: Frame) => f.type !== 'ack' && f.roomId === room.roomId && f.seq > room.lastSeq;
      for (const c of [a, b]) {
        const got = await c.waitForCount(inRoom, 5);
        expect(got.map((f) => f.type)).toEqual(types);
        expect(got.map((f) => f.seq)).toEqual(got.map((_, i) => sent.seq + i));
        expect(got[1]).toMatchObject({ change: 'edit', message: { content: 'final' } });
        expect(got[3]).toMatchObject({ change: 'pin' });
        expect(got[4]).toMatchObject({ messageId, deletedBy: alice.userId });
      }
    });

    it('commits sends in the order they were sent, also those that arrive while the connection opens', async () => {
      const [alice] = await newUsers(t, 1);
      const room = await t.newRoom(alice);
      // Hold the first send until the server has taken in a second frame, so that a frame handled out of
      // order (arriving while the frames received during authentication are handed over) would overtake.
      const presence = t.sb.presence;
      const heartbeat = presence.heartbeat;
      let frames = 0;
      let release!: () => void;
      const secondFrame = new Promise<void>((resolve) => {
        release = resolve;
      });
      presence.heartbeat = (userId, connId) => {
        if (userId === alice.userId && ++frames === 2) release();
        return heartbeat.call(presence, userId, connId);
      };
      const messages = t.sb.messages;
      const send = messages.send;
      messages.send = async (p, roomId, input: SendInput) => {
        if (input.content === 'o0') await secondFrame;
        return send.call(messages, p, roomId, input);
      };
      try {
        const c = await WsClient.connect(t.baseUrl, { authFrame: alice.token });
        clients.push(c);
        c.send({ type: 'send_message', id: 'o0', roomId: room.roomId, content: 'o0' });
        c.send({ type: 'send_message', id: 'o1', roomId: room.roomId, content: 'o1' });
        await c.next(is('ready'));
        c.send({ type: 'send_message', id: 'o2', roomId: room.roomId, content: 'o2' });
        const acks = await c.waitForCount(is('ack'), 3);
        const seq = (id: string) => acks.find((x) => x.id === id)!.seq;
        expect([seq('o0'), seq('o1'), seq('o2')]).toEqual([
          room.lastSeq + 1,
          room.lastSeq + 2,
          room.lastSeq + 3,
        ]);
      } finally {
        presence.heartbeat = heartbeat;
        messages.send = send;
      }
    });
  });

  describe(`frames: rate limit (${backend})`, () => {
    let t: TestApp;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, { ...ENV, WS_FRAME_RATE: '5' });
    });
    afterAll(async () => {
      await closeAll(clients);
      await t.close();
    });

    it('answers frames beyond WS_FRAME_RATE per second with RATE_LIMITED; pings still pass', async () => {
      const [user] = await newUsers(t, 1);
      const room = await t.newRoom(user);
      const c = await live(t, user);
      clients.push(c);
      for (let i = 0; i < 8; i++) c.send({ type: 'typing_stop', id: `f${i}`, roomId: room.roomId });
      c.send({ type: 'ping', id: 'still' });
      const answers = await c.waitForCount((f) => typeof f.id === 'string' && f.id.startsWith('f'), 8);
      const byId = new Map(answers.map((f) => [f.id, f]));
      for (let i = 0; i < 8; i++) {
        const f = byId.get(`f${i}`)!;
        if (i < 5) expect(f).toMatchObject({ type: 'ack', for: 'typing_stop' });
        else {
          expect(f).toMatchObject({
            type: 'error',
            code: 'RATE_LIMITED',
            details: { retryAfterMs: expect.any(Number) },
          });
          expect(f.details.retryAfterMs).toBeGreaterThan(0);
          expect(f.details.retryAfterMs).toBeLessThanOrEqual(1000);
        }
      }
      expect((await c.waitFor((f) => f.id === 'still')).type).toBe('pong');
      expect(c.isOpen).toBe(true);

      // The window passes and frames are served again.
      const deadline = Date.now() + 5000;
      let answer = await c.request({ type: 'typing_stop', roomId: room.roomId });
      while (answer.type === 'error' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        answer = await c.request({ type: 'typing_stop', roomId: room.roomId });
      }
      expect(answer).toMatchObject({ type: 'ack' });
    });

    it('closes a runaway client (five times the rate in one window) with 4029', async () => {
      const [user] = await newUsers(t, 1);
      const room = await t.newRoom(user);
      const c = await live(t, user);
      clients.push(c);
      for (let i = 0; i < 30; i++) c.send({ type: 'typing_stop', id: `x${i}`, roomId: room.roomId });
      expect(await c.waitClose()).toEqual({ code: 4029, reason: 'too many frames' });
      // Frames 6-25 were refused at once; acks of the first five may not have gone out before the close.
      expect(c.all(is('error', { code: 'RATE_LIMITED' }))).toHaveLength(20);
      expect(c.all(is('ack')).length).toBeLessThanOrEqual(5);
    });

    it('counts malformed frames towards the limit too: a flood of garbage is closed with 4029', async () => {
      const [user] = await newUsers(t, 1);
      const c = await live(t, user);
      clients.push(c);
      for (let i = 0; i < 30; i++) c.send('not json at all');
      expect(await c.waitClose()).toEqual({ code: 4029, reason: 'too many frames' });
      // Only the frames under five times the rate were answered, each with one error frame.
      expect(c.all(is('error', { code: 'MALFORMED_JSON' })).length).toBeLessThanOrEqual(25);
    });
  });
}
