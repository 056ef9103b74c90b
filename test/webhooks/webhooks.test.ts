import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBody } from '../../src/bridges/signatures.js';
import { eventually, newAdmin } from '../ai/ai-helpers.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { expectError, expectOk, join, send, setRole } from '../http/http-helpers.js';
import { type Receiver, startReceiver } from './receiver.js';

/**
 * Outgoing webhooks end to end: registration (server admins: global and any room; room admins:
 * their room), signed deliveries through the job queue to a local receiver, retries with backoff,
 * 410 Gone, timeouts, the deliveries log, ping, redelivery, secret rotation, limits, and input errors.
 */
const ENV = {
  WEBHOOK_ALLOW_PRIVATE: 'true', // the receiver listens on 127.0.0.1
  WEBHOOK_MAX_ATTEMPTS: '3',
  WEBHOOK_BACKOFF_MS: '20',
  WEBHOOK_TIMEOUT_MS: '300',
  WEBHOOK_RELAY_INTERVAL_MS: '100',
  WEBHOOK_MAX_PER_ROOM: '3',
  WEBHOOK_DISABLE_AFTER_FAILURES: '0',
};

let pathCounter = 0;
const newPath = () => `/hook${++pathCounter}`;

for (const backend of await availableBackends()) {
  describe(`outgoing webhooks (${backend})`, () => {
    let t: TestApp;
    let admin: TestUser;
    let rx: Receiver;
    beforeAll(async () => {
      rx = await startReceiver();
      t = await startTestApp(backend, ENV);
      admin = await newAdmin(t);
    });
    afterAll(async () => {
      await t.close();
      await rx.close();
    });

    const createRoomHook = async (owner: TestUser, roomId: string, path: string, events = ['*']) =>
      expectOk(
        await t.api('POST', `/v1/chat/rooms/${roomId}/webhooks`, {
          token: owner.token,
          body: { url: rx.url(path), events },
        }),
        201,
      );
    const deliveries = async (user: TestUser, base: string, hookId: string, q = '') =>
      expectOk(await t.api('GET', `${base}/${hookId}/deliveries?limit=100${q}`, { token: user.token }))
        .deliveries as any[];

    it('a room admin registers a webhook; messages arrive signed, with the event and delivery headers', async () => {
      const owner = await t.newUser();
      const room = await t.newRoom(owner);
      const path = newPath();
      const hook = await createRoomHook(owner, room.roomId, path, ['message.created']);
      expect(hook.secret).toMatch(/^sbwh_[A-Za-z0-9_-]{43}$/);
      expect(hook).toMatchObject({ roomId: room.roomId, events: ['message.created'], active: true });

      const msg = await send(t, owner, room.roomId, 'hello webhooks');
      await eventually('delivery', () => rx.on(path).length === 1);
      const got = rx.on(path)[0]!;
      expect(got.headers['content-type']).toBe('application/json');
      expect(got.headers['x-switchboard-event']).toBe('message.created');
      expect(got.headers['user-agent']).toMatch(/^Switchboard-Webhooks\//);
      expect(
        verifyBody(got.headers['x-switchboard-signature'] as string, hook.secret, got.body, Date.now()),
      ).toBe(true);
      expect(
        verifyBody(got.headers['x-switchboard-signature'] as string, 'sbwh_wrong', got.body, Date.now()),
      ).toBe(false);
      expect(got.json).toMatchObject({
        type: 'message.created',
        webhookId: hook.webhookId,
        roomId: room.roomId,
        eventId: `${room.roomId}:${msg.seq}`,
        seq: msg.seq,
        actorId: owner.userId,
      });
      expect(got.json.data.message.content).toBe('hello webhooks');

      // The log shows it delivered, under the id the receiver saw.
      await eventually('logged', async () => {
        const log = await deliveries(owner, `/v1/chat/rooms/${room.roomId}/webhooks`, hook.webhookId);
        return log.length === 1 && log[0].status === 'delivered';
      });
      const [logged] = await deliveries(owner, `/v1/chat/rooms/${room.roomId}/webhooks`, hook.webhookId);
      expect(logged).toMatchObject({
        deliveryId: got.headers['x-switchboard-delivery'],
        event: 'message.created',
        attempts: 1,
        lastStatusCode: 200,
        lastError: null,
      });
      // The secret is never shown again.
      const view = expectOk(
        await t.api('GET', `/v1/chat/rooms/${room.roomId}/webhooks/${hook.webhookId}`, {
          token: owner.token,
        }),
      );
      expect(JSON.stringify(view)).not.toContain(hook.secret);
    });

    it('only subscribed event types are delivered; "*" gets every kind, in log order', async () => {
      const owner = await t.newUser();
      const other = await t.newUser();
      const room = await t.newRoom(owner);
      const onlyJoins = newPath();
      const all = newPath();
      await createRoomHook(owner, room.roomId, onlyJoins, ['member.joined']);
      await createRoomHook(owner, room.roomId, all, ['*']);
      await send(t, owner, room.roomId, 'one');
      await join(t, other, room.roomId);
      await send(t, other, room.roomId, 'two');
      await eventually('all three', () => rx.on(all).length === 3);
      await eventually('the join', () => rx.on(onlyJoins).length === 1);
      expect(rx.on(all).map((r) => r.json.type)).toEqual([
        'message.created',
        'member.joined',
        'message.created',
      ]);
      const seqs = rx.on(all).map((r) => r.json.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(rx.on(onlyJoins)[0]!.json).toMatchObject({ type: 'member.joined', actorId: other.userId });
    });

    it('a global webhook (server admins) sees every room; a room webhook only its own', async () => {
      const gpath = newPath();
      const global = expectOk(
        await t.api('POST', '/v1/admin/webhooks', {
          token: admin.token,
          body: { url: rx.url(gpath), events: ['message.created'], description: 'audit' },
        }),
        201,
      );
      expect(global.roomId).toBeNull();
      const a = await t.newUser();
      const roomA = await t.newRoom(a);
      const roomB = await t.newRoom(a);
      const pathA = newPath();
      await createRoomHook(a, roomA.roomId, pathA, ['message.created']);
      await send(t, a, roomA.roomId, 'in A');
      await send(t, a, roomB.roomId, 'in B');
      await eventually('global got both', () => {
        const rooms = new Set(rx.on(gpath).map((r) => r.json.roomId));
        return rooms.has(roomA.roomId) && rooms.has(roomB.roomId);
      });
      await eventually('room hook got A', () => rx.on(pathA).length === 1);
      expect(rx.on(pathA)[0]!.json.roomId).toBe(roomA.roomId);
      // Listing: global only, one room's.
      const globals = expectOk(await t.api('GET', '/v1/admin/webhooks?global=true', { token: admin.token }));
      expect(globals.webhooks.map((w: any) => w.webhookId)).toContain(global.webhookId);
      expect(globals.webhooks.every((w: any) => w.roomId === null)).toBe(true);
      const ofA = expectOk(
        await t.api('GET', `/v1/admin/webhooks?roomId=${roomA.roomId}`, { token: admin.token }),
      );
      expect(ofA.webhooks).toHaveLength(1);
      expect(ofA.pagination).toMatchObject({ total: 1, hasMore: false });
      // Off again so later tests' traffic does not pile up on it.
      expect(
        (await t.api('DELETE', `/v1/admin/webhooks/${global.webhookId}`, { token: admin.token })).status,
      ).toBe(204);
    });

    it('failures are retried with backoff until a 2xx; the log keeps the status of each try', async () => {
      const owner = await t.newUser();
      const room = await t.newRoom(owner);
      const path = newPath();
      rx.plan(path, [500, 503]);
      const hook = await createRoomHook(owner, room.roomId, path, ['message.created']);
      await send(t, owner, room.roomId, 'retry me');
      await eventually('three tries', () => rx.on(path).length === 3);
      const ids = new Set(rx.on(path).map((r) => r.headers['x-switchboard-delivery']));
      expect(ids.size).toBe(1); // one delivery, tried three times
      expect(rx.on(path).map((r) => r.headers['x-switchboard-attempt'])).toEqual(['1', '2', '3']);
      expect(new Set(rx.on(path).map((r) => r.body)).size).toBe(1); // the same body each time
      const base = `/v1/chat/rooms/${room.roomId}/webhooks`;
      await eventually(
        'delivered',
        async () => (await deliveries(owner, base, hook.webhookId))[0]?.status === 'delivered',
      );
      expect((await deliveries(owner, base, hook.webhookId))[0]).toMatchObject({
        attempts: 3,
        lastStatusCode: 200,
      });
    });

    it('after the last attempt a delivery is failed; redelivery sends the same body and eventId again', async () => {
      const owner = await t.newUser();
      const room = await t.newRoom(owner);
      const path = newPath();
      rx.plan(path, [500, 'hang', 502]);
      const hook = await createRoomHook(owner, room.roomId, path, ['message.created']);
      const base = `/v1/chat/rooms/${room.roomId}/webhooks`;
      await send(t, owner, room.roomId, 'doomed');
      await eventually(
        'failed',
        async () => (await deliveries(owner, base, hook.webhookId))[0]?.status === 'failed',
      );
      const [failed] = await deliveries(owner, base, hook.webhookId);
      expect(failed).toMatchObject({ attempts: 3, lastStatusCode: 502, lastError: 'answered 502' });
      expect(rx.on(path)).toHaveLength(3);
      const shown = expectOk(
        await t.api('GET', `${base}/${hook.webhookId}/deliveries/${failed.deliveryId}`, {
          token: owner.token,
        }),
      );
      expect(shown.payload).toMatchObject({ type: 'message.created' });
      const failedOnly = await deliveries(owner, base, hook.webhookId, '&status=failed');
      expect(failedOnly.map((d) => d.deliveryId)).toEqual([failed.deliveryId]);

      const again = expectOk(
        await t.api('POST', `${base}/${hook.webhookId}/deliveries/${failed.deliveryId}/redeliver`, {
          token: owner.token,
        }),
        202,
      );
      expect(again).toMatchObject({
        redeliveryOf: failed.deliveryId,
        eventId: failed.eventId,
        status: 'pending',
      });
      await eventually('redelivered', () => rx.on(path).length === 4);
      expect(rx.on(path)[3]!.body).toBe(rx.on(path)[0]!.body);
      expect(rx.on(path)[3]!.headers['x-switchboard-delivery']).toBe(again.deliveryId);
      expectError(
        await t.api('POST', `${base}/${hook.webhookId}/deliveries/whd_missing/redeliver`, {
          token: owner.token,
        }),
        404,
        'WEBHOOK_DELIVERY_NOT_FOUND',
      );
    });

    it('a timeout counts as a failed try and is retried', async () => {
      const owner = await t.newUser();
      const room = await t.newRoom(owner);
      const path = newPath();
      rx.plan(path, ['hang']);
      const hook = await createRoomHook(owner, room.roomId, path, ['message.created']);
      const base = `/v1/chat/rooms/${room.roomId}/webhooks`;
      await send(t, owner, room.roomId, 'slow receiver');
      await eventually(
        'delivered',
        async () => (await deliveries(owner, base, hook.webhookId))[0]?.status === 'delivered',
      );
      expect(rx.on(path)).toHaveLength(2);
      expect((await deliveries(owner, base, hook.webhookId))[0]).toMatchObject({
        attempts: 2,
        lastStatusCode: 200,
      });
    });

    it('410 Gone turns the webhook off; turning it back on resumes deliveries', async () => {
      const owner = await t.newUser();
      const room = await t.newRoom(owner);
      const path = newPath();
      rx.plan(path, [410]);
      const hook = await createRoomHook(owner, room.roomId, path, ['message.created']);
      const base = `/v1/chat/rooms/${room.roomId}/webhooks`;
      await send(t, owner, room.roomId, 'gone');
      await eventually('off', async () => {
        const v = expectOk(await t.api('GET', `${base}/${hook.webhookId}`, { token: owner.token }));
        return v.active === false;
      });
      const off = expectOk(await t.api('GET', `${base}/${hook.webhookId}`, { token: owner.token }));
      expect(off.disabledReason).toMatch(/410/);
      expect(rx.on(path)).toHaveLength(1);
      expectError(
        await t.api('POST', `${base}/${hook.webhookId}/ping`, { token: owner.token }),
        409,
        'WEBHOOK_DISABLED',
      );
      await send(t, owner, room.roomId, 'while off');
      const on = expectOk(
        await t.api('PATCH', `${base}/${hook.webhookId}`, { token: owner.token, body: { active: true } }),
      );
      expect(on).toMatchObject({ active: true, disabledReason: null, consecutiveFailures: 0 });
      await send(t, owner, room.roomId, 'back on');
      await eventually('resumed', () => rx.on(path).length === 2);
      expect(rx.on(path)[1]!.json.data.message.content).toBe('back on');
    });

    it('ping sends one signed test delivery; rotating the secret signs with both during the grace period', async () => {
      const owner = await t.newUser();
      const room = await t.newRoom(owner);
      const path = newPath();
      const hook = await createRoomHook(owner, room.roomId, path);
      const base = `/v1/chat/rooms/${room.roomId}/webhooks`;
      const ping = expectOk(
        await t.api('POST', `${base}/${hook.webhookId}/ping`, { token: owner.token }),
        202,
      );
      expect(ping).toMatchObject({ event: 'ping', status: 'pending' });
      await eventually('ping', () => rx.on(path).some((r) => r.json?.type === 'ping'));
      const got = rx.on(path).find((r) => r.json?.type === 'ping')!;
      expect(got.headers['x-switchboard-delivery']).toBe(ping.deliveryId);
      expect(
        verifyBody(got.headers['x-switchboard-signature'] as string, hook.secret, got.body, Date.now()),
      ).toBe(true);

      const rotated = expectOk(
        await t.api('POST', `${base}/${hook.webhookId}/rotate-secret`, {
          token: owner.token,
          body: { graceSeconds: 60 },
        }),
      );
      expect(rotated.secret).toMatch(/^sbwh_/);
      expect(rotated.secret).not.toBe(hook.secret);
      expect(rotated.previousSecretExpiresAt).not.toBeNull();
      const before = rx.on(path).length;
      await send(t, owner, room.roomId, 'after rotation');
      await eventually('delivered', () => rx.on(path).length > before);
      const signed = rx.on(path)[before]!;
      const sig = signed.headers['x-switchboard-signature'] as string;
      expect(verifyBody(sig, rotated.secret, signed.body, Date.now())).toBe(true);
      expect(verifyBody(sig, hook.secret, signed.body, Date.now())).toBe(true);

      // Without grace the old secret stops at once.
      const hard = expectOk(
        await t.api('POST', `${base}/${hook.webhookId}/rotate-secret`, { token: owner.token, body: {} }),
      );
      const n = rx.on(path).length;
      await send(t, owner, room.roomId, 'after the hard rotation');
      await eventually('delivered', () => rx.on(path).length > n);
      const last = rx.on(path)[n]!;
      const lastSig = last.headers['x-switchboard-signature'] as string;
      expect(verifyBody(lastSig, hard.secret, last.body, Date.now())).toBe(true);
      expect(verifyBody(lastSig, rotated.secret, last.body, Date.now())).toBe(false);
    });

    it('who may manage webhooks: no token, outsiders, members and moderators are refused', async () => {
      const owner = await t.newUser();
      const member = await t.newUser();
      const moderator = await t.newUser();
      const outsider = await t.newUser();
      const room = await t.newRoom(owner);
      await join(t, member, room.roomId);
      await join(t, moderator, room.roomId);
      await setRole(t, owner, room.roomId, moderator, 'moderator');
      const hook = await createRoomHook(owner, room.roomId, newPath());
      const base = `/v1/chat/rooms/${room.roomId}/webhooks`;
      const body = { url: rx.url('/x'), events: ['*'] };
      expectError(await t.api('POST', base, { body }), 401, 'UNAUTHENTICATED');
      expectError(await t.api('GET', '/v1/admin/webhooks'), 401, 'UNAUTHENTICATED');
      for (const user of [member, moderator]) {
        expectError(await t.api('POST', base, { token: user.token, body }), 403, 'FORBIDDEN');
        expectError(await t.api('GET', base, { token: user.token }), 403, 'FORBIDDEN');
        expectError(
          await t.api('DELETE', `${base}/${hook.webhookId}`, { token: user.token }),
          403,
          'FORBIDDEN',
        );
        expectError(await t.api('GET', '/v1/admin/webhooks', { token: user.token }), 403, 'FORBIDDEN');
      }
      const refused = await t.api('GET', base, { token: outsider.token });
      expect([403, 404]).toContain(refused.status);
      expectError(await t.api('POST', '/v1/admin/webhooks', { token: owner.token, body }), 403, 'FORBIDDEN');

      // Another room's admin cannot reach this room's webhook through their own room.
      const otherRoom = await t.newRoom(outsider);
      expectError(
        await t.api('GET', `/v1/chat/rooms/${otherRoom.roomId}/webhooks/${hook.webhookId}`, {
          token: outsider.token,
        }),
        404,
        'WEBHOOK_NOT_FOUND',
      );
      // Server admins manage any room's webhooks from both places.
      expectOk(await t.api('GET', `${base}/${hook.webhookId}`, { token: admin.token }));
      expectOk(await t.api('GET', `/v1/admin/webhooks/${hook.webhookId}`, { token: admin.token }));
      expect((await t.api('DELETE', `${base}/${hook.webhookId}`, { token: owner.token })).status).toBe(204);
      expectError(
        await t.api('GET', `${base}/${hook.webhookId}`, { token: owner.token }),
        404,
        'WEBHOOK_NOT_FOUND',
      );
    });

    it('bad input is refused at the edge; the per-room limit holds', async () => {
      const owner = await t.newUser();
      const room = await t.newRoom(owner);
      const base = `/v1/chat/rooms/${room.roomId}/webhooks`;
      const post = (body: unknown) => t.api('POST', base, { token: owner.token, body });
      expectError(await post({ url: rx.url('/a') }), 400, 'VALIDATION_FAILED');
      expectError(await post({ url: rx.url('/a'), events: [] }), 400, 'VALIDATION_FAILED');
      expectError(await post({ url: rx.url('/a'), events: ['message.exploded'] }), 400, 'VALIDATION_FAILED');
      expectError(await post({ url: rx.url('/a'), events: ['*'], extra: 1 }), 400, 'VALIDATION_FAILED');
      expectError(await post({ url: 'ftp://example.com/x', events: ['*'] }), 400, 'WEBHOOK_URL_REFUSED');
      expectError(await post({ url: 'not a url', events: ['*'] }), 400, 'WEBHOOK_URL_REFUSED');
      expectError(
        await post({ url: 'https://user:pw@example.com/', events: ['*'] }),
        400,
        'WEBHOOK_URL_REFUSED',
      );
      expectError(
        await post({ url: `https://example.com/${'x'.repeat(2100)}`, events: ['*'] }),
        400,
        'VALIDATION_FAILED',
      );
      expectError(
        await t.api('PATCH', `${base}/wh_missing`, { token: owner.token, body: { active: false } }),
        404,
        'WEBHOOK_NOT_FOUND',
      );
      for (let i = 0; i < 3; i++) await createRoomHook(owner, room.roomId, newPath(), ['message.deleted']);
      expectError(await post({ url: rx.url('/a'), events: ['*'] }), 409, 'TOO_MANY_WEBHOOKS');
      const hook = expectOk(await t.api('GET', base, { token: owner.token })).webhooks[0];
      expectError(
        await t.api('PATCH', `${base}/${hook.webhookId}`, { token: owner.token, body: {} }),
        400,
        'VALIDATION_FAILED',
      );
      const changed = expectOk(
        await t.api('PATCH', `${base}/${hook.webhookId}`, {
          token: owner.token,
          body: { events: ['message.edited', 'message.created', 'message.created'], description: ' d ' },
        }),
      );
      expect(changed).toMatchObject({ events: ['message.created', 'message.edited'], description: 'd' });
    });
  });
}

describe('outgoing webhooks: the SSRF guard (sqlite)', () => {
  let t: TestApp;
  let admin: TestUser;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
    t = await startTestApp('sqlite', {
      ...ENV,
      WEBHOOK_ALLOW_PRIVATE: 'false',
      WEBHOOK_ALLOWED_HOSTS: 'allowed.test',
    });
    admin = await newAdmin(t);
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });

  it('refuses loopback, private, link-local and metadata targets, by address and by name', async () => {
    for (const url of [
      rx.url('/x'),
      'http://10.0.0.1/hook',
      'http://192.168.1.20/hook',
      'http://172.16.5.5/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:8080/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[fd00::1]/hook',
      'http://0.0.0.0/hook',
      'http://localhost:9/hook',
    ]) {
      const r = await t.api('POST', '/v1/admin/webhooks', {
        token: admin.token,
        body: { url, events: ['*'] },
      });
      expect({ url, status: r.status, code: r.body?.error?.code }).toEqual({
        url,
        status: 400,
        code: 'WEBHOOK_URL_REFUSED',
      });
    }
  });

  it('API-key callback URLs are held to the same guard', async () => {
    const r = await t.api('POST', '/v1/admin/api-keys', {
      token: admin.token,
      body: { name: 'internal', callbackUrl: 'http://169.254.169.254/callback' },
    });
    expectError(r, 400, 'VALIDATION_FAILED');
    expect(r.body.error.message).toMatch(/private|loopback|reserved/);
  });

  it('WEBHOOK_ALLOWED_HOSTS lets a named private host through; the request goes to the checked address', async () => {
    const checker = t.sb.webhooks.checker as any;
    const realResolve = checker.resolve;
    checker.resolve = async () => [{ address: '127.0.0.1', family: 4 }];
    try {
      const owner = await t.newUser();
      const room = await t.newRoom(owner);
      const port = new URL(rx.url('/')).port;
      expectOk(
        await t.api('POST', `/v1/chat/rooms/${room.roomId}/webhooks`, {
          token: owner.token,
          body: { url: `http://allowed.test:${port}/allowed`, events: ['message.created'] },
        }),
        201,
      );
      await send(t, owner, room.roomId, 'to an allowed internal host');
      // allowed.test exists in no DNS: the request reached the receiver through the pinned address.
      await eventually('delivered', () => rx.on('/allowed').length === 1);
      expect(rx.on('/allowed')[0]!.headers.host).toBe(`allowed.test:${port}`);
    } finally {
      checker.resolve = realResolve;
    }
  });

  it('a target that turned private after registration is refused at delivery time, without a request', async () => {
    // Registered while the name had a public address, then the name moves to loopback (DNS
    // rebinding): the delivery checks again and refuses.
    const checker = t.sb.webhooks.checker as any;
    const realResolve = checker.resolve;
    checker.resolve = async () => [{ address: '93.184.216.34', family: 4 }];
    const owner = await t.newUser();
    const room = await t.newRoom(owner);
    const port = new URL(rx.url('/')).port;
    const hook = expectOk(
      await t.api('POST', `/v1/chat/rooms/${room.roomId}/webhooks`, {
        token: owner.token,
        body: { url: `http://rebind.test:${port}/rebind`, events: ['message.created'] },
      }),
      201,
    );
    checker.resolve = async () => [{ address: '127.0.0.1', family: 4 }];
    try {
      await send(t, owner, room.roomId, 'to a private address?');
      const base = `/v1/chat/rooms/${room.roomId}/webhooks`;
      await eventually('refused', async () => {
        const log = expectOk(
          await t.api('GET', `${base}/${hook.webhookId}/deliveries`, { token: owner.token }),
        ).deliveries;
        return log[0]?.status === 'failed';
      });
      const log = expectOk(
        await t.api('GET', `${base}/${hook.webhookId}/deliveries`, { token: owner.token }),
      ).deliveries;
      expect(log[0].lastError).toMatch(/target refused/);
      expect(log[0].attempts).toBe(1); // refused for good: no retries
      expect(rx.on('/rebind')).toHaveLength(0);
    } finally {
      checker.resolve = realResolve;
    }
  });
});
