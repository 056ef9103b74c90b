import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { SseClient } from './sse-client.js';
import {
  closeAll,
  contents,
  is,
  joinRest,
  lastSeq,
  live,
  msgIn,
  newUsers,
  principal,
  resumeFrom,
  type WsClient,
} from './ws-client.js';

const BIG = 40_000;

for (const backend of await availableBackends()) {
  describe(`slow consumers (${backend})`, () => {
    let t: TestApp;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, {
        RESUME_WAIT_MS: '50',
        PRESENCE_OFFLINE_GRACE_MS: '0',
        WS_MAX_BUFFERED_BYTES: '65536',
        MAX_MESSAGE_LENGTH: '50000',
        SEND_RATE_LIMIT: '100000',
        GROUP_COMMIT_MAX_WAIT_MS: '0',
      });
    });
    afterAll(async () => {
      await closeAll(clients);
      await t.close();
    });

    /** Whether every server-side session of the user has been closed (the gateway's view is not public). */
    function sessionsClosed(user: TestUser): boolean {
      const hub = (t.sb.realtime as any).hub;
      const sessions = [...hub.sessionsOf(user.userId)] as { isClosed: boolean }[];
      return sessions.length > 0 && sessions.every((s) => s.isClosed);
    }

    it('closes a client that stops reading with 4008; it resumes and gets everything', async () => {
      const [alice, bob, carol] = await newUsers(t, 3);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      await joinRest(t, carol, room.roomId);
      const head = await lastSeq(t, bob, room.roomId);
      const b = await live(t, bob);
      const c = await live(t, carol);
      clients.push(b, c);

      // Bob's client stops reading: the server's queue for him grows once the kernel buffers are full.
      const socket = (b.ws as unknown as { _socket: Socket })._socket;
      socket.pause();
      let sent = 0;
      while (!sessionsClosed(bob) && sent < 5000) {
        await t.sb.messages.send(principal(alice), room.roomId, { content: `${sent}:${'x'.repeat(BIG)}` });
        sent++;
        // Let sockets do their I/O between sends (carol keeps reading).
        await new Promise((r) => setImmediate(r));
      }
      expect(sessionsClosed(bob)).toBe(true);
      for (const tail of ['tail0', 'tail1'])
        await t.sb.messages.send(principal(alice), room.roomId, { content: tail });
      const expected = [
        ...Array.from({ length: sent }, (_, i) => `${i}:${'x'.repeat(BIG)}`),
        'tail0',
        'tail1',
      ];

      // Once bob reads again he finds what was queued before the close, then the 4008 close.
      socket.resume();
      const closed = await b.waitClose(30_000);
      expect(closed).toEqual({ code: 4008, reason: 'slow consumer: resume from your cursors' });
      const got = b.all(msgIn(room.roomId));
      expect(got.length).toBeLessThan(expected.length);
      expect(contents(got)).toEqual(expected.slice(0, got.length));
      expect(got.map((f) => f.seq)).toEqual(got.map((_, i) => head + 1 + i));

      // Carol, reading all along, was not affected.
      const all = await c.waitForCount(msgIn(room.roomId), expected.length, 30_000);
      expect(contents(all)).toEqual(expected);
      expect(c.isOpen).toBe(true);

      // Bob resumes from the last seq he saw and gets the rest, once and in order.
      const cursor = got.at(-1)?.seq ?? head;
      const b2 = await resumeFrom(t, bob, { [room.roomId]: cursor });
      clients.push(b2);
      await b2.next(is('resumed'), 30_000);
      const rest = b2.all(msgIn(room.roomId));
      expect(contents([...got, ...rest])).toEqual(expected);
      expect(rest[0]!.seq).toBe(cursor + 1);
      expect(b2.isOpen).toBe(true);
    }, 120_000);

    it('paces a large replay to a client that reads, instead of closing it (WebSocket and SSE)', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      const head = await lastSeq(t, bob, room.roomId);
      const sse = await SseClient.open(`${t.baseUrl}/v1/events/stream?token=${bob.token}`);
      const start = await sse.waitFor((e) => e.data.type === 'resumed');
      sse.close();
      // About 4 MB of backlog, far more than WS_MAX_BUFFERED_BYTES.
      const expected = Array.from({ length: 100 }, (_, i) => `${i}:${'x'.repeat(BIG)}`);
      for (const content of expected) await t.sb.messages.send(principal(alice), room.roomId, { content });

      const b = await resumeFrom(t, bob, { [room.roomId]: head });
      clients.push(b);
      const resumed = await b.next(is('resumed'), 30_000);
      expect(resumed.rooms).toEqual([expect.objectContaining({ roomId: room.roomId, complete: true })]);
      expect(contents(b.all(msgIn(room.roomId)))).toEqual(expected);
      expect(b.isOpen).toBe(true);

      const again = await SseClient.open(`${t.baseUrl}/v1/events/stream?token=${bob.token}`, {
        'last-event-id': start.id!,
      });
      await again.waitFor((e) => e.data.type === 'resumed', 30_000);
      const msgs = again.events
        .filter((e) => e.data.type === 'new_message')
        .map((e) => e.data.message.content);
      expect(msgs).toEqual(expected);
      expect(again.events.filter((e) => e.event === 'close')).toEqual([]);
      expect(again.isEnded).toBe(false);
      again.close();
    }, 120_000);
  });
}
