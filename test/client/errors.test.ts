import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ServerFrames, SwitchboardError } from '../../src/client/index.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  ClientPool,
  FAST_ENV,
  loggedMessages,
  nextState,
  quickUser,
  quickUsers,
  roomWith,
  sleep,
  waitFor,
} from './client-helpers.js';

/** What the caller sees when things go wrong: typed errors, auth failures, token refresh. */
for (const backend of await availableBackends()) {
  describe(`client errors and auth (${backend})`, () => {
    let t: TestApp;
    const pool = new ClientPool();
    beforeAll(async () => {
      t = await startTestApp(backend, FAST_ENV);
    });
    afterEach(() => pool.closeAll());
    afterAll(() => t.close());

    const rejection = (p: Promise<unknown>) =>
      p.then(
        (v) => {
          throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
        },
        (e: unknown) => e as SwitchboardError,
      );

    it('sending to rooms you are not in rejects with a SwitchboardError and leaves no outbox entry', async () => {
      const [owner, outsider] = await quickUsers(t, 2);
      const publicRoom = await roomWith(t, owner);
      const privateRoom = (await t.newRoom(owner, { type: 'private' })).roomId;
      const c = await pool.connect(t, outsider);

      const errPublic = await rejection(c.client.send('hi', { roomId: publicRoom }));
      expect(errPublic).toBeInstanceOf(SwitchboardError);
      expect(['NOT_A_MEMBER', 'ROOM_NOT_FOUND']).toContain(errPublic.code);
      expect(errPublic.message).toEqual(expect.any(String));

      const errPrivate = await rejection(c.client.send('hi', { roomId: privateRoom }));
      expect(errPrivate).toBeInstanceOf(SwitchboardError);
      expect(['NOT_A_MEMBER', 'ROOM_NOT_FOUND']).toContain(errPrivate.code);

      const errMissing = await rejection(c.client.send('hi', { roomId: 'room_doesnotexist' }));
      expect(errMissing).toMatchObject({ name: 'SwitchboardError', code: 'ROOM_NOT_FOUND' });

      expect(c.client.outboxSize).toBe(0);
      expect(c.client.state).toBe('open');
      expect(await loggedMessages(t, owner, publicRoom)).toEqual([]);
      // The connection is still usable.
      await c.client.joinRoom(publicRoom);
      const ok = await c.client.send('now a member', { roomId: publicRoom });
      expect(ok).toMatchObject({ roomId: publicRoom, duplicate: false });
    });

    it('server-side validation errors reject the request with their code', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const c = await pool.connect(t, alice);
      const both = await rejection(c.client.send('x', { roomId, toUserId: bob.userId }));
      expect(both).toMatchObject({ code: 'VALIDATION_FAILED' });
      const self = await rejection(c.client.send('x', { toUserId: alice.userId }));
      expect(self).toMatchObject({ code: 'VALIDATION_FAILED' });
      const blank = await rejection(c.client.send('   ', { roomId }));
      expect(blank).toMatchObject({ code: 'VALIDATION_FAILED' });
      const edit = await rejection(c.client.edit(roomId, 'msg_nope', 'x'));
      expect(edit).toBeInstanceOf(SwitchboardError);
      expect(edit.code).toBe('MESSAGE_NOT_FOUND');
      expect(c.client.outboxSize).toBe(0);
    });

    it('a bad token emits UNAUTHORIZED and ends closed, without reconnecting', async () => {
      const c = pool.make(t, null, { token: 'definitely-not-a-jwt' });
      const errors: ServerFrames['error'][] = [];
      c.client.on('error', (e) => errors.push(e));
      const connecting = rejection(c.client.connect());
      expect(await connecting).toMatchObject({ code: 'CONNECT_FAILED' });

      expect(errors).toEqual([expect.objectContaining({ type: 'error', code: 'UNAUTHORIZED' })]);
      expect(c.client.state).toBe('closed');
      expect(c.states).toEqual(['connecting', 'closed']);
      await sleep(250); // longer than the largest backoff (a first retry would come within 20ms)
      expect(c.tap.sockets).toHaveLength(1);
      expect(c.client.state).toBe('closed');
    });

    it('a token that expired is UNAUTHORIZED too', async () => {
      const u = await quickUser(t);
      const expired = await t.sb.auth.tokenFor(await t.sb.users.get(u.userId), -60);
      const c = pool.make(t, u, { token: expired });
      const errors: ServerFrames['error'][] = [];
      c.client.on('error', (e) => errors.push(e));
      await expect(c.client.connect()).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
      expect(errors.map((e) => e.code)).toEqual(['UNAUTHORIZED']);
      expect(c.tap.sockets).toHaveLength(1);
    });

    it('the token provider is asked again on every reconnect', async () => {
      const u = await quickUser(t);
      const view = await t.sb.users.get(u.userId);
      const issued: string[] = [];
      const c = pool.make(t, u, {
        token: async () => {
          const tok = await t.sb.auth.tokenFor(view);
          issued.push(tok);
          return tok;
        },
      });
      await c.client.connect();
      expect(issued).toHaveLength(1);
      expect(c.tap.sockets[0]!.sent[0]).toEqual({ type: 'auth', token: issued[0] });

      for (let i = 2; i <= 3; i++) {
        const back = nextState(c.client, 'reconnecting').then(() => nextState(c.client, 'open'));
        c.tap.current.terminate();
        await back;
        expect(issued).toHaveLength(i);
        expect(c.tap.sockets).toHaveLength(i);
        expect(c.tap.current.sent[0]).toEqual({ type: 'auth', token: issued[i - 1] });
      }
      expect(c.client.userId).toBe(u.userId);
    });

    it('a provider that fails or hands out a rejected token is retried until it recovers', async () => {
      const u = await quickUser(t);
      let calls = 0;
      const c = pool.make(t, u, {
        token: () => {
          calls++;
          if (calls === 1) throw new Error('token service down');
          if (calls === 2) return 'stale-token';
          return u.token;
        },
      });
      const errors: ServerFrames['error'][] = [];
      c.client.on('error', (e) => errors.push(e));
      await c.client.connect();
      expect(calls).toBe(3);
      // The provider's failure never opened a socket; the stale token's socket was refused.
      expect(c.tap.sockets).toHaveLength(2);
      expect(errors).toEqual([]);
      expect(c.client.state).toBe('open');
      expect(c.states).toEqual(['connecting', 'reconnecting', 'open']);
    });

    it('requests other than sends fail fast while offline and when their connection drops', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const c = pool.make(t, alice);
      // Not connected yet.
      expect(await rejection(c.client.markRead(roomId))).toMatchObject({ code: 'NOT_CONNECTED' });
      await c.client.connect();

      // In flight when the socket dies: the outcome is unknown, so it fails rather than repeating.
      c.tap.outgoing = (f, s) => {
        if (f.type === 'typing_start') s.terminate();
      };
      expect(await rejection(c.client.typing(roomId, true))).toMatchObject({ code: 'DISCONNECTED' });
      await nextState(c.client, 'open');
      c.tap.outgoing = undefined;
      await expect(c.client.typing(roomId, false)).resolves.toMatchObject({ type: 'ack', roomId });
    });

    it('a request whose answer never comes times out', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const c = await pool.connect(t, alice, { requestTimeoutMs: 100 });
      c.tap.incoming = (f) => (f.type === 'ack' && f.for === 'mark_read' ? 'drop' : undefined);
      expect(await rejection(c.client.markRead(roomId))).toMatchObject({ code: 'TIMEOUT' });
      // Sends are not subject to the timeout: they wait in the outbox for their ack.
      let ackHeld = true;
      c.tap.incoming = (f) => (ackHeld && f.type === 'ack' && f.for === 'send_message' ? 'drop' : undefined);
      let settled = false;
      const sending = c.client.send('patient', { roomId }).finally(() => {
        settled = true;
      });
      await waitFor(() => c.tap.current.sent.some((f) => f.type === 'send_message'), 'send written');
      await sleep(250); // well past requestTimeoutMs (100)
      expect(settled).toBe(false);
      expect(c.client.outboxSize).toBe(1);
      // On the next connection it is re-sent and answered (as a duplicate).
      ackHeld = false;
      c.tap.current.terminate();
      await expect(sending).resolves.toMatchObject({ duplicate: true });
    });

    it('a RATE_LIMITED send waits in the outbox and is retried', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const c = await pool.connect(t, alice);
      let limited = 0;
      c.tap.incoming = (f, s) => {
        // The first answer to each send is a rate limit, as the server sends it.
        if (f.type === 'ack' && f.for === 'send_message' && limited < 3) {
          limited++;
          s.inject({
            type: 'error',
            id: f.id,
            code: 'RATE_LIMITED',
            message: 'slow down',
            details: { retryAfterMs: 20 },
          });
          return 'drop';
        }
        return undefined;
      };
      const acks = await Promise.all([0, 1, 2].map((i) => c.client.send(`r${i}`, { roomId })));
      expect(limited).toBe(3);
      expect(acks.map((k) => k.duplicate)).toEqual([true, true, true]);
      expect((await loggedMessages(t, bob, roomId)).map((m) => m.content)).toEqual(['r0', 'r1', 'r2']);
    });
  });
}
