import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketGateway } from '../../src/transport/websocket-gateway.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { is, newUsers, WsClient } from './ws-client.js';

for (const backend of await availableBackends()) {
  describe(`WebSocket authentication (${backend})`, () => {
    let t: TestApp;
    let alice: TestUser;
    beforeAll(async () => {
      t = await startTestApp(backend, { RESUME_WAIT_MS: '50', PRESENCE_OFFLINE_GRACE_MS: '0' });
      [alice] = await newUsers(t, 1);
    });
    afterAll(() => t.close());

    /** The first frame is `ready` for this user; the connection then goes live. */
    async function expectReady(c: WsClient, user: TestUser) {
      const first = await c.next();
      expect(first).toEqual({
        type: 'ready',
        protocol: 1,
        sessionId: expect.any(String),
        userId: user.userId,
        username: user.username,
        heartbeatMs: expect.any(Number),
      });
      expect(c.frames[0]).toBe(first);
      await c.next(is('resumed'));
      const pong = await c.request({ type: 'ping' });
      expect(pong.type).toBe('pong');
      expect(c.isOpen).toBe(true);
      await c.close();
    }

    it('accepts ?token= on /ws and /chat', async () => {
      await expectReady(await WsClient.connect(t.baseUrl, { token: alice.token }), alice);
      await expectReady(await WsClient.connect(t.baseUrl, { token: alice.token, path: '/chat' }), alice);
    });

    it('accepts an Authorization: Bearer header', async () => {
      await expectReady(await WsClient.connect(t.baseUrl, { bearer: alice.token }), alice);
    });

    it('accepts a first {type:"auth"} frame', async () => {
      await expectReady(await WsClient.connect(t.baseUrl, { authFrame: alice.token }), alice);
    });

    it('processes frames sent right behind the auth frame, in order', async () => {
      const c = await WsClient.connect(t.baseUrl, { authFrame: alice.token, resume: {} });
      c.send({ type: 'ping', id: 'after-auth' });
      const ready = await c.next();
      expect(ready.type).toBe('ready');
      await c.next(is('resumed'));
      expect((await c.waitFor(is('pong'))).id).toBe('after-auth');
      await c.close();
    });

    it('answers a second auth frame with ALREADY_AUTHENTICATED and stays open', async () => {
      const c = await WsClient.connect(t.baseUrl, { token: alice.token });
      await c.next(is('ready'));
      const err = await c.request({ type: 'auth', token: alice.token });
      expect(err).toMatchObject({ type: 'error', code: 'ALREADY_AUTHENTICATED' });
      await c.barrier();
      await c.close();
    });

    it('closes with 4401 for a bad token, in the URL, the header or the auth frame', async () => {
      for (const opts of [{ token: 'nope' }, { bearer: 'nope' }, { authFrame: 'nope' }]) {
        const c = await WsClient.connect(t.baseUrl, opts);
        expect((await c.waitClose()).code).toBe(4401);
        expect(c.all(is('ready'))).toEqual([]);
      }
    });

    it('closes with 4401 for a token with a forged signature', async () => {
      const [h, p] = alice.token.split('.');
      const c = await WsClient.connect(t.baseUrl, { token: `${h}.${p}.AAAA` });
      expect((await c.waitClose()).code).toBe(4401);
    });

    it('closes with 4401 when the first frame is not an auth frame', async () => {
      const c = await WsClient.connect(t.baseUrl);
      c.send({ type: 'ping' });
      expect((await c.waitClose()).code).toBe(4401);
      expect(c.frames).toEqual([]);

      const d = await WsClient.connect(t.baseUrl);
      d.send('not json');
      expect((await d.waitClose()).code).toBe(4401);
    });

    it('closes with 4403 for a foreign Origin, before authenticating', async () => {
      const c = await WsClient.connect(t.baseUrl, { token: alice.token, origin: 'http://evil.example' });
      expect((await c.waitClose()).code).toBe(4403);
      expect(c.frames).toEqual([]);
    });

    it('allows the same origin and origin-less clients', async () => {
      const host = new URL(t.baseUrl).host;
      await expectReady(
        await WsClient.connect(t.baseUrl, { token: alice.token, origin: `http://${host}` }),
        alice,
      );
    });

    it('refuses upgrades on other paths', async () => {
      await expect(WsClient.connect(t.baseUrl, { token: alice.token, path: '/nope' })).rejects.toThrow();
    });

    it('closes with 4408 when no auth frame arrives in time', async () => {
      // The app's gateway waits 10 s; a second gateway on the same core waits 100 ms.
      const server = createServer();
      const gateway = new WebSocketGateway(server, t.sb.realtime, t.sb.auth, pino({ level: 'silent' }), {
        paths: ['/ws'],
        allowedOrigins: [],
        heartbeatMs: 60_000,
        idleTimeoutMs: 600_000,
        authTimeoutMs: 100,
        hardMaxFrameBytes: 1 << 20,
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as AddressInfo).port;
        const c = await WsClient.connect(`http://127.0.0.1:${port}`);
        expect((await c.waitClose()).code).toBe(4408);
        expect(c.frames).toEqual([]);
        // A client that does authenticate in time on that gateway is served.
        const ok = await WsClient.connect(`http://127.0.0.1:${port}`, { authFrame: alice.token });
        expect((await ok.next()).type).toBe('ready');
        await ok.close();
      } finally {
        await gateway.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
}
