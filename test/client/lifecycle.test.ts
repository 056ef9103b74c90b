import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCursorStore, SwitchboardError } from '../../src/client/index.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  ClientPool,
  FAST_ENV,
  nextState,
  principal,
  quickUser,
  quickUsers,
  roomWith,
  sleep,
  waitFor,
} from './client-helpers.js';

/** Starting, stopping and restarting a client: nothing happens after close(). */
for (const backend of await availableBackends()) {
  describe(`client lifecycle (${backend})`, () => {
    let t: TestApp;
    const pool = new ClientPool();
    beforeAll(async () => {
      t = await startTestApp(backend, FAST_ENV);
    });
    afterEach(() => pool.closeAll());
    afterAll(() => t.close());

    it('close() while the token provider is still working opens no socket', async () => {
      const u = await quickUser(t);
      let release!: (token: string) => void;
      const c = pool.make(t, u, { token: () => new Promise<string>((r) => (release = r)) });
      const connecting = c.client.connect().catch((e: unknown) => e);
      await waitFor(() => release !== undefined, 'provider called');
      c.client.close();
      expect(await connecting).toMatchObject({ code: 'CONNECT_FAILED' });
      release(u.token);
      await sleep(100);
      expect(c.tap.sockets).toHaveLength(0);
      expect(c.client.state).toBe('closed');
    });

    it('close() while reconnecting waits for no token and opens no socket', async () => {
      const u = await quickUser(t);
      let calls = 0;
      let release: ((token: string) => void) | undefined;
      const c = pool.make(t, u, {
        token: () => {
          calls++;
          if (calls === 1) return u.token;
          return new Promise<string>((r) => (release = r));
        },
      });
      await c.client.connect();
      c.tap.current.terminate();
      await waitFor(() => release, 'second provider call');
      c.client.close();
      release!(u.token);
      await sleep(100);
      expect(c.tap.sockets).toHaveLength(1);
      expect(c.client.state).toBe('closed');
    });

    it('frames still arriving on a closed client are not delivered and do not move cursors', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const cursors = new MemoryCursorStore();
      const b = await pool.connect(t, bob, { cursors });
      const at = b.client.position[roomId]!;
      const socket = b.tap.current;
      b.client.close();
      // The close handshake is still under way: a frame the server sent meanwhile comes in.
      socket.inject({
        type: 'new_message',
        roomId,
        seq: at + 1,
        createdAt: new Date().toISOString(),
        actorId: alice.userId,
        message: { messageId: 'msg_late', roomId, seq: at + 1, content: 'late' },
      });
      expect(b.messages).toEqual([]);
      expect(cursors.load()[roomId]).toBe(at);
      expect(b.client.position[roomId]).toBe(at);
    });

    it('messages sent while a client closes reach the next instance over the same store', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const cursors = new MemoryCursorStore();
      const b1 = await pool.connect(t, bob, { cursors });
      const sending = Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          t.sb.messages.send(principal(alice), roomId, {
            content: `m${i}`,
          }),
        ),
      );
      await waitFor(() => b1.messages.length >= 1, 'first message');
      b1.client.close();
      const seenByFirst = b1.messages.length;
      await sending;
      const b2 = await pool.connect(t, bob, { cursors });
      await waitFor(() => seenByFirst + b2.messages.length >= 200, 'all 200 across both instances');
      await sleep(50);
      const all = [...b1.messages, ...b2.messages];
      expect(b1.messages).toHaveLength(seenByFirst);
      expect(all.map((m) => m.seq)).toEqual(all.map((_, i) => all[0]!.seq + i));
      expect(new Set(all.map((m) => m.message.content)).size).toBe(200);
    });

    it('a send after close() is rejected with CLIENT_CLOSED instead of waiting forever', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const a = await pool.connect(t, alice);
      a.client.close();
      const err = await a.client.send('too late', { roomId }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SwitchboardError);
      expect(err).toMatchObject({ code: 'CLIENT_CLOSED' });
      expect(a.client.outboxSize).toBe(0);
    });

    it('a send queued before connect() goes out once connected', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const a = pool.make(t, alice);
      const early = a.client.send('early bird', { roomId });
      expect(a.client.outboxSize).toBe(1);
      await a.client.connect();
      await expect(early).resolves.toMatchObject({ roomId, duplicate: false });
    });

    it('a closed client can connect again and picks up where it stopped', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const b = await pool.connect(t, bob);
      await t.sb.messages.send(principal(alice), roomId, {
        content: 'one',
      });
      await waitFor(() => b.messages.length === 1, 'one');
      b.client.close();
      await t.sb.messages.send(principal(alice), roomId, {
        content: 'two',
      });
      await b.client.connect();
      await waitFor(() => b.messages.length === 2, 'two');
      expect(b.messages.map((m) => m.message.content)).toEqual(['one', 'two']);
      expect(b.client.state).toBe('open');
      // And it still reconnects by itself.
      const back = nextState(b.client, 'reconnecting').then(() => nextState(b.client, 'open'));
      b.tap.current.terminate();
      await back;
    });

    it('a rejected token fails the sends waiting for the connection', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const c = pool.make(t, alice, { token: 'garbage' });
      const sending = c.client.send('never', { roomId }).catch((e: unknown) => e);
      await expect(c.client.connect()).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
      const err = await sending;
      expect(err).toBeInstanceOf(SwitchboardError);
      expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
      expect(c.client.outboxSize).toBe(0);
    });
  });
}
