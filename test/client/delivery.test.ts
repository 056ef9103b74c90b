import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCursorStore } from '../../src/client/index.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  ClientPool,
  FAST_ENV,
  loggedMessages,
  nextState,
  numbered,
  post,
  principal,
  quickUsers,
  roomWith,
  seqsOf,
  waitFor,
} from './client-helpers.js';

/** Exactly-once, in-order delivery through the real SDK across offline periods and dropped sockets. */
for (const backend of await availableBackends()) {
  describe(`client delivery (${backend})`, () => {
    let t: TestApp;
    const pool = new ClientPool();
    beforeAll(async () => {
      t = await startTestApp(backend, FAST_ENV);
    });
    afterEach(() => pool.closeAll());
    afterAll(() => t.close());

    it('a DM conversation that goes on while the recipient is offline arrives once, in order', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const bobCursors = new MemoryCursorStore();
      const a = await pool.connect(t, alice);
      const b1 = await pool.connect(t, bob, { cursors: bobCursors });

      // The conversation exists and bob has seen its start.
      const first = await a.client.send('hi bob', { toUserId: bob.userId });
      const dmRoom = first.roomId;
      await waitFor(() => b1.messages.some((m) => m.message.messageId === first.messageId), 'first DM');
      expect(bobCursors.load()[dmRoom]).toBe(first.seq);
      b1.client.close();

      const acks = [];
      for (let i = 0; i < 20; i++) acks.push(await a.client.send(`dm ${i}`, { toUserId: bob.userId }));
      expect(new Set(acks.map((k) => k.roomId))).toEqual(new Set([dmRoom]));

      // A new client instance (a page reload) with the same cursor store.
      const b2 = pool.make(t, bob, { cursors: bobCursors });
      await b2.client.connect();
      await waitFor(() => b2.messages.length >= 20, '20 DMs');
      // Nothing more is on its way: a live message after the backlog arrives right behind it.
      const marker = await a.client.send('live', { toUserId: bob.userId });
      await waitFor(() => b2.messages.some((m) => m.message.messageId === marker.messageId), 'live DM');

      expect(b2.messages.map((m) => m.message.content)).toEqual([
        ...Array.from({ length: 20 }, (_, i) => `dm ${i}`),
        'live',
      ]);
      expect(b2.messages.map((m) => m.seq)).toEqual([...acks.map((k) => k.seq), marker.seq]);
      expect(b2.messages.every((m) => m.roomId === dmRoom && m.message.authorId === alice.userId)).toBe(true);
      expect(bobCursors.load()[dmRoom]).toBe(marker.seq);
    });

    it('a DM conversation started while the recipient was offline is replayed from its start', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const bobCursors = new MemoryCursorStore();
      const b1 = await pool.connect(t, bob, { cursors: bobCursors });
      b1.client.close();
      const a = await pool.connect(t, alice);
      const acks = [];
      for (let i = 0; i < 20; i++) acks.push(await a.client.send(`dm ${i}`, { toUserId: bob.userId }));
      const dmRoom = acks[0]!.roomId;
      expect(bobCursors.load()[dmRoom]).toBeUndefined();

      const b2 = await pool.connect(t, bob, { cursors: bobCursors });
      await waitFor(() => b2.messages.length >= 20, '20 DMs');
      const marker = await a.client.send('live', { toUserId: bob.userId });
      await waitFor(() => b2.messages.some((m) => m.message.messageId === marker.messageId), 'live DM');

      expect(b2.messages.map((m) => m.message.content)).toEqual([
        ...Array.from({ length: 20 }, (_, i) => `dm ${i}`),
        'live',
      ]);
      // The whole DM log (creation, joins, messages) exactly once, in order.
      const seqs = seqsOf(b2.events, dmRoom);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(seqs.at(-1)).toBe(marker.seq);
    });

    it('a socket killed in the middle of a 1,000-message burst loses and repeats nothing', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const b = await pool.connect(t, bob);
      const startSeq = b.client.position[roomId]!;
      const before = b.events.length;

      let killedAt = -1;
      b.client.on('new_message', () => {
        if (killedAt < 0 && b.messages.length === 300) {
          killedAt = b.messages.length;
          b.tap.current.terminate();
        }
      });
      const reconnected = nextState(b.client, 'reconnecting').then(() => nextState(b.client, 'open'));

      // The burst goes in concurrently (as from many connections), so commits share transactions.
      const N = 1000;
      const sent = await post(t, alice, roomId, numbered(N, 'burst '));
      await reconnected;
      await waitFor(() => b.messages.length >= N, `${N} messages (have ${b.messages.length})`);
      // One more live message: if anything were still on its way it would land before this one.
      const marker = await t.sb.messages.send(principal(alice), roomId, { content: 'after burst' });
      await waitFor(() => b.messages.at(-1)?.message.messageId === marker.message.messageId, 'marker');

      expect(killedAt).toBe(300);
      expect(b.tap.sockets.length).toBeGreaterThanOrEqual(2);
      expect(b.states).toEqual(['connecting', 'open', 'reconnecting', 'open']);
      expect(b.client.state).toBe('open');

      // Exactly the 1,000 (and the marker), each once, in seq order.
      expect(b.messages).toHaveLength(N + 1);
      const bySeq = [...sent, marker.message];
      expect(b.messages.map((m) => m.seq)).toEqual(bySeq.map((m) => m.seq));
      expect(b.messages.map((m) => m.message.messageId)).toEqual(bySeq.map((m) => m.messageId));
      expect(b.messages.map((m) => m.message.content)).toEqual(bySeq.map((m) => m.content));
      expect(new Set(b.messages.map((m) => m.message.content)).size).toBe(N + 1);
      // Every room event after bob's starting point, exactly once and gapless.
      const seqs = seqsOf(b.events.slice(before), roomId);
      expect(seqs).toEqual(Array.from({ length: marker.message.seq - startSeq }, (_, i) => startSeq + 1 + i));
      expect(b.client.position[roomId]).toBe(marker.message.seq);

      // The server's log agrees.
      const logged = await loggedMessages(t, bob, roomId);
      expect(logged.map((m) => m.messageId)).toEqual(b.messages.map((m) => m.message.messageId));
    });

    it('pipelined sends from the client commit in the order written and arrive in that order', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const a = await pool.connect(t, alice);
      const b = await pool.connect(t, bob);
      const N = 50;
      const acks = await Promise.all(
        Array.from({ length: N }, (_, i) => a.client.send(`p ${i}`, { roomId })),
      );
      expect(acks.map((k) => k.seq)).toEqual(acks.map((_, i) => acks[0]!.seq + i));
      await waitFor(() => b.messages.length >= N, `${N} messages`);
      expect(b.messages.map((m) => m.message.content)).toEqual(acks.map((_, i) => `p ${i}`));
      expect(b.messages.map((m) => m.message.messageId)).toEqual(acks.map((k) => k.messageId));
    });

    it('messages committed server-side while the socket is down are replayed after the automatic reconnect', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const b = await pool.connect(t, bob);
      const sent: string[] = [];
      const sendSome = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const r = await t.sb.messages.send(principal(alice), roomId, { content: `m${sent.length}` });
          sent.push(r.message.messageId);
        }
      };
      await sendSome(5);
      await waitFor(() => b.messages.length >= 5, '5 live messages');
      // Commits right after the drop race the reconnect: each arrives by replay or live, never both.
      const down = nextState(b.client, 'reconnecting');
      b.tap.current.terminate();
      await down;
      await sendSome(5);
      await nextState(b.client, 'open');
      await sendSome(5);
      await waitFor(() => b.messages.length >= 15, '15 messages');
      expect(b.messages.map((m) => m.message.messageId)).toEqual(sent);
      expect(b.messages.map((m) => m.message.content)).toEqual(Array.from({ length: 15 }, (_, i) => `m${i}`));
    });
  });
}
