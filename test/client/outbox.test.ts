import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SendAck, SwitchboardError } from '../../src/client/index.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  ClientPool,
  FAST_ENV,
  loggedMessages,
  nextState,
  quickUsers,
  roomWith,
  sleep,
  waitFor,
} from './client-helpers.js';

/** The outbox: sends survive dropped sockets and lost acks, and commit exactly once. */
for (const backend of await availableBackends()) {
  describe(`client outbox (${backend})`, () => {
    let t: TestApp;
    const pool = new ClientPool();
    beforeAll(async () => {
      t = await startTestApp(backend, FAST_ENV);
    });
    afterEach(() => pool.closeAll());
    afterAll(() => t.close());

    async function setup() {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const a = await pool.connect(t, alice);
      const b = await pool.connect(t, bob);
      return { alice, bob, roomId, a, b };
    }

    it('sends made while the socket is down go out after the reconnect, each exactly once', async () => {
      const { bob, roomId, a, b } = await setup();
      const first = a.tap.current;
      first.terminate();
      const sends = Array.from({ length: 10 }, (_, i) => a.client.send(`offline ${i}`, { roomId }));
      expect(a.client.outboxSize).toBe(10);

      const acks = await Promise.all(sends);
      expect(a.client.outboxSize).toBe(0);
      expect(a.tap.sockets.length).toBeGreaterThanOrEqual(2);
      // Nothing was written to the dead socket; the new one carried each send once.
      expect(first.sent.filter((f) => f.type === 'send_message')).toEqual([]);
      const resent = a.tap.sockets.slice(1).flatMap((s) => s.sent.filter((f) => f.type === 'send_message'));
      expect(resent.map((f) => f.content)).toEqual(Array.from({ length: 10 }, (_, i) => `offline ${i}`));

      expect(new Set(acks.map((k) => k.messageId)).size).toBe(10);
      expect(new Set(acks.map((k) => k.clientMsgId)).size).toBe(10);
      expect(acks.every((k) => k.duplicate === false && k.roomId === roomId)).toBe(true);
      // The outbox goes out in the order the sends were made.
      expect(acks.map((k) => k.seq)).toEqual(acks.map((_, i) => acks[0]!.seq + i));

      const logged = await loggedMessages(t, bob, roomId);
      expect(logged.map((m) => m.messageId)).toEqual(acks.map((k) => k.messageId));
      expect(logged.map((m) => m.clientMsgId)).toEqual(acks.map((k) => k.clientMsgId));
      await waitFor(() => b.messages.length >= 10, 'bob gets 10');
      expect(b.messages.map((m) => m.message.messageId)).toEqual(acks.map((k) => k.messageId));
    });

    it('a send whose socket died right after it was written is re-sent with the same clientMsgId and stored once', async () => {
      const { bob, roomId, a, b } = await setup();
      let armed = true;
      a.tap.outgoing = (f, s) => {
        if (armed && f.type === 'send_message') {
          armed = false;
          s.terminate();
        }
      };
      const ack = await a.client.send('maybe twice', { roomId, clientMsgId: 'retry-me-1' });

      const writes = a.tap.sockets.flatMap((s) => s.sent.filter((f) => f.type === 'send_message'));
      expect(writes).toHaveLength(2);
      expect(writes.map((f) => f.clientMsgId)).toEqual(['retry-me-1', 'retry-me-1']);
      expect(a.tap.sockets[0]!.sent).toContainEqual(expect.objectContaining({ clientMsgId: 'retry-me-1' }));
      expect(ack).toMatchObject({ roomId, clientMsgId: 'retry-me-1', duplicate: expect.any(Boolean) });

      const logged = await loggedMessages(t, bob, roomId);
      expect(logged.filter((m) => m.clientMsgId === 'retry-me-1').map((m) => m.messageId)).toEqual([
        ack.messageId,
      ]);
      expect(logged).toHaveLength(1);
      // Make sure nothing else trails in, then bob has it exactly once.
      const marker = await a.client.send('marker', { roomId });
      await waitFor(() => b.messages.at(-1)?.message.messageId === marker.messageId, 'marker');
      expect(b.messages.map((m) => m.message.messageId)).toEqual([ack.messageId, marker.messageId]);
    });

    it('a send whose ack was lost is answered as a duplicate of the stored message', async () => {
      const { bob, roomId, a, b } = await setup();
      let lostAck: Record<string, any> | undefined;
      a.tap.incoming = (f, s) => {
        if (!lostAck && f.type === 'ack' && f.for === 'send_message') {
          lostAck = f;
          s.terminate();
          return 'drop';
        }
        return undefined;
      };
      const ack = await a.client.send('committed, ack lost', { roomId });

      expect(lostAck).toMatchObject({ duplicate: false, clientMsgId: ack.clientMsgId });
      expect(ack).toMatchObject({
        duplicate: true,
        messageId: lostAck!.messageId,
        seq: lostAck!.seq,
        clientMsgId: lostAck!.clientMsgId,
      });
      const logged = await loggedMessages(t, bob, roomId);
      expect(logged.map((m) => m.messageId)).toEqual([ack.messageId]);
      const marker = await a.client.send('marker', { roomId });
      await waitFor(() => b.messages.at(-1)?.message.messageId === marker.messageId, 'marker');
      expect(b.messages.map((m) => m.message.messageId)).toEqual([ack.messageId, marker.messageId]);
    });

    it('a pipeline of 50 sends cut in the middle still commits each exactly once, in order', async () => {
      const { bob, roomId, a, b } = await setup();
      let acksSeen = 0;
      a.tap.incoming = (f, s) => {
        if (f.type === 'ack' && f.for === 'send_message' && s === a.tap.sockets[0] && ++acksSeen >= 10) {
          if (acksSeen === 10) s.terminate();
          return 'drop';
        }
        return undefined;
      };
      const acks = await Promise.all(
        Array.from({ length: 50 }, (_, i) => a.client.send(`p${i}`, { roomId })),
      );

      expect(a.tap.sockets.length).toBeGreaterThanOrEqual(2);
      expect(new Set(acks.map((k) => k.messageId)).size).toBe(50);
      expect(acks.slice(0, 9).every((k) => !k.duplicate)).toBe(true);
      expect(acks[9]!.duplicate).toBe(true);
      expect(acks.map((k) => k.seq)).toEqual(acks.map((_, i) => acks[0]!.seq + i));
      const logged = await loggedMessages(t, bob, roomId);
      expect(logged.map((m) => m.content)).toEqual(Array.from({ length: 50 }, (_, i) => `p${i}`));
      expect(logged.map((m) => m.messageId)).toEqual(acks.map((k) => k.messageId));
      await waitFor(() => b.messages.length >= 50, 'bob gets 50');
      expect(b.messages.map((m) => m.message.messageId)).toEqual(acks.map((k) => k.messageId));
    });

    it('close() rejects unacknowledged sends with CLIENT_CLOSED and stops reconnecting', async () => {
      const { bob, roomId, a } = await setup();
      a.tap.current.terminate();
      const whileDropping = a.client.send('never 1', { roomId });
      await nextState(a.client, 'reconnecting');
      const whileReconnecting = a.client.send('never 2', { roomId });
      a.client.close();

      for (const p of [whileDropping, whileReconnecting]) {
        const err = await p.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SwitchboardError);
        expect(err).toMatchObject({ code: 'CLIENT_CLOSED' });
      }
      expect(a.client.outboxSize).toBe(0);
      expect(a.client.state).toBe('closed');
      const sockets = a.tap.sockets.length;
      // Longer than the largest backoff: a reconnect would have happened by now.
      await sleep(250);
      expect(a.tap.sockets.length).toBe(sockets);
      expect(a.client.state).toBe('closed');
      expect(await loggedMessages(t, bob, roomId)).toEqual([]);
    });

    it('close() on an open client rejects a send in flight and closes the socket normally', async () => {
      const { roomId, a } = await setup();
      // Hold the ack back so the send is still in flight when the client closes.
      a.tap.incoming = (f) => (f.type === 'ack' && f.for === 'send_message' ? 'drop' : undefined);
      const closed = new Promise<number>((resolve) =>
        a.tap.current.raw.once('close', (code) => resolve(code)),
      );
      const sending: Promise<SendAck | unknown> = a.client.send('in flight', { roomId }).catch((e) => e);
      await waitFor(() => a.tap.current.sent.some((f) => f.type === 'send_message'), 'send written');
      a.client.close();
      expect(await sending).toMatchObject({ code: 'CLIENT_CLOSED' });
      expect(await closed).toBe(1000);
    });
  });
}
