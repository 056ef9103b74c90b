import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED } from '../../src/client-errors/redaction.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser, uniqueName } from '../helpers/test-app.js';
import { closeAll, live, newUsers, type WsClient } from '../realtime/ws-client.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl';
/** Reports are ordered by time, then by their random id: tests that check order keep them apart. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 3));

for (const backend of await availableBackends()) {
  describe(`client error log (${backend})`, () => {
    let t: TestApp;
    let admin: TestUser;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, { RESUME_WAIT_MS: '50', CLIENT_ERROR_RATE_LIMIT: '3' });
      const user = await t.sb.users.create({ username: uniqueName('adm'), isAdmin: true });
      admin = {
        userId: user.userId,
        username: user.username,
        token: await t.sb.auth.tokenFor(user),
        refreshToken: '',
      };
    });
    afterAll(async () => {
      await closeAll(clients);
      await t.close();
    });
    const connect = async (user: TestUser) => {
      const c = await live(t, user);
      clients.push(c);
      return c;
    };
    const report = (user: TestUser, body: unknown, headers: Record<string, string> = {}) =>
      t.api('POST', '/v1/client-errors', { token: user.token, body, headers });
    const errorsOf = async (userId: string, query = '') => {
      const r = await t.api('GET', `/v1/admin/client-errors?userId=${userId}${query}`, {
        token: admin.token,
      });
      expect(r.status).toBe(200);
      return r.body.data;
    };

    it('stores a REST report with its user agent, secrets redacted', async () => {
      const [user] = await newUsers(t, 1);
      const r = await report(
        user,
        {
          message: `TypeError: x is undefined (token ${JWT})`,
          stack: `TypeError: x is undefined\n    at send (app.js:1:2)\n    Authorization: Bearer ${JWT}`,
          context: {
            route: '/rooms/1',
            token: 'secret-token',
            password: 'hunter2',
            headers: { authorization: 'Bearer abc', accept: 'application/json' },
            attempts: 3,
          },
          clientVersion: 'web-1.4.2',
          url: 'https://chat.example.com/app?room=1&access_token=abc',
          level: 'warning',
        },
        { 'user-agent': 'Mozilla/5.0 (test)' },
      );
      expect(r.status).toBe(201);
      expect(r.body.data).toEqual({ errorId: expect.stringMatching(/^cer_/), createdAt: expect.any(String) });

      const { errors } = await errorsOf(user.userId);
      expect(errors).toEqual([
        {
          errorId: r.body.data.errorId,
          userId: user.userId,
          level: 'warning',
          message: `TypeError: x is undefined (token ${REDACTED})`,
          stack: `TypeError: x is undefined\n    at send (app.js:1:2)\n    Authorization: Bearer ${REDACTED}`,
          context: {
            route: '/rooms/1',
            token: REDACTED,
            password: REDACTED,
            headers: { authorization: REDACTED, accept: 'application/json' },
            attempts: 3,
          },
          clientVersion: 'web-1.4.2',
          url: `https://chat.example.com/app?room=1&access_token=${REDACTED}`,
          userAgent: 'Mozilla/5.0 (test)',
          source: 'http',
          createdAt: r.body.data.createdAt,
        },
      ]);
    });

    it('stores an error_log frame and acks it; level defaults to error', async () => {
      const [user] = await newUsers(t, 1);
      const c = await connect(user);
      const ack = await c.ok({
        type: 'error_log',
        message: 'socket handler crashed',
        context: { apiKey: 'k', view: 'room' },
      });
      expect(ack).toEqual({
        type: 'ack',
        id: expect.any(String),
        for: 'error_log',
        errorId: expect.stringMatching(/^cer_/),
        createdAt: expect.any(String),
      });
      const { errors } = await errorsOf(user.userId);
      expect(errors).toEqual([
        expect.objectContaining({
          errorId: ack.errorId,
          level: 'error',
          message: 'socket handler crashed',
          stack: null,
          context: { apiKey: REDACTED, view: 'room' },
          clientVersion: null,
          url: null,
          userAgent: null,
          source: 'websocket',
        }),
      ]);
    });

    it('rate-limits reports per user across REST and the socket', async () => {
      const [user, other] = await newUsers(t, 2);
      const c = await connect(user);
      expect((await report(user, { message: 'one' })).status).toBe(201);
      await tick();
      expect((await c.request({ type: 'error_log', message: 'two' })).type).toBe('ack');
      await tick();
      expect((await report(user, { message: 'three' })).status).toBe(201);

      const limited = await report(user, { message: 'four' });
      expect(limited.status).toBe(429);
      expect(limited.body.error).toMatchObject({
        code: 'RATE_LIMITED',
        details: { retryAfterMs: expect.any(Number) },
      });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      const frame = await c.request({ type: 'error_log', message: 'five' });
      expect(frame).toMatchObject({
        type: 'error',
        code: 'RATE_LIMITED',
        details: { retryAfterMs: expect.any(Number) },
      });

      expect((await errorsOf(user.userId)).errors.map((e: { message: string }) => e.message)).toEqual([
        'three',
        'two',
        'one',
      ]);
      // Another user has an allowance of their own.
      expect((await report(other, { message: 'fine' })).status).toBe(201);
    });

    it('rejects oversized and malformed reports and stores nothing', async () => {
      const [user] = await newUsers(t, 1);
      const c = await connect(user);
      const manyKeys = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]));
      const bigContext = { blob: 'x'.repeat(8200) };
      const cases: unknown[] = [
        {},
        { message: '' },
        { message: '   ' },
        { message: 'm'.repeat(2001) },
        { message: 'm', stack: 's'.repeat(16_385) },
        { message: 'm', context: manyKeys },
        { message: 'm', context: bigContext },
        { message: 'm', context: 'not an object' },
        { message: 'm', level: 'fatal' },
        { message: 'm', url: 'u'.repeat(2049) },
        { message: 'm', extra: 1 },
      ];
      for (const body of cases) {
        const r = await report(user, body);
        expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
        expect(r.body.error.code).toBe('VALIDATION_FAILED');
      }
      // Larger than MAX_BODY_SIZE (256 KiB) altogether.
      const huge = await report(user, { message: 'm', stack: 's'.repeat(300_000) });
      expect(huge.status).toBe(413);
      expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');

      for (const f of [
        { message: 'm'.repeat(2001) },
        { message: 'm', context: manyKeys },
        { message: 'm', context: bigContext },
        { message: 'm', level: 'fatal' },
      ]) {
        expect(await c.request({ type: 'error_log', ...f })).toMatchObject({
          type: 'error',
          code: 'VALIDATION_FAILED',
        });
      }
      expect((await errorsOf(user.userId)).errors).toEqual([]);
    });

    it('lists reports for server admins only, newest first, paged by errorId', async () => {
      const [user] = await newUsers(t, 1);
      const ids: string[] = [];
      for (const message of ['a', 'b', 'c']) {
        ids.push((await report(user, { message })).body.data.errorId);
        await tick();
      }

      const first = await errorsOf(user.userId, '&limit=2');
      expect(first.errors.map((e: { message: string }) => e.message)).toEqual(['c', 'b']);
      expect(first.pagination).toEqual({ hasMore: true, limit: 2, before: ids[1] });
      const second = await errorsOf(user.userId, `&limit=2&before=${first.pagination.before}`);
      expect(second.errors.map((e: { message: string }) => e.message)).toEqual(['a']);
      expect(second.pagination).toEqual({ hasMore: false, limit: 2, before: ids[0] });

      // Without userId: everyone's, newest first.
      const all = await t.api('GET', '/v1/admin/client-errors?limit=100', { token: admin.token });
      expect(all.status).toBe(200);
      expect(all.body.data.errors[0].errorId).toBe(ids[2]);

      const denied = await t.api('GET', '/v1/admin/client-errors', { token: user.token });
      expect(denied.status).toBe(403);
      expect(denied.body.error.code).toBe('FORBIDDEN');
      // The flag is checked in the store: a token minted before a demotion does not help.
      const demoted = await t.sb.users.create({ username: uniqueName('adm'), isAdmin: true });
      const staleToken = await t.sb.auth.tokenFor(demoted);
      await t.sb.users.setAdmin(demoted.userId, false);
      expect((await t.api('GET', '/v1/admin/client-errors', { token: staleToken })).status).toBe(403);

      const unknown = await t.api('GET', '/v1/admin/client-errors?before=cer_nosuchreport', {
        token: admin.token,
      });
      expect(unknown.status).toBe(400);
    });
  });
}
