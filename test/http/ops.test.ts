import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { send } from './http-helpers.js';

for (const backend of await availableBackends()) {
  describe(`health, metrics and docs (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    it('GET /health answers 200 without a token', async () => {
      const r = await t.api('GET', '/health');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: 'ok' });
    });

    it('GET /ready answers 200 with the store name', async () => {
      const r = await t.api('GET', '/ready');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: 'ready', store: backend });
    });

    it('GET /metrics exposes switchboard_messages_sent_total, counting sends', async () => {
      const sentTotal = async () => {
        const res = await fetch(`${t.baseUrl}/metrics`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain('text/plain');
        const text = await res.text();
        expect(text).toContain('# TYPE switchboard_messages_sent_total counter');
        const line = text.split('\n').find((l) => l.startsWith('switchboard_messages_sent_total '));
        expect(line).toBeDefined();
        return Number(line!.split(' ')[1]);
      };
      const before = await sentTotal();
      const alice = await t.newUser();
      const room = await t.newRoom(alice);
      await send(t, alice, room.roomId, 'counted');
      const retry = await send(t, alice, room.roomId, 'counted once', { clientMsgId: 'k' });
      const again = await t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
        token: alice.token,
        body: { content: 'counted once', clientMsgId: 'k' },
      });
      expect([retry.duplicate, again.body.data.duplicate]).toEqual([false, true]);
      // Two messages committed; the idempotent retry is not counted.
      expect((await sentTotal()) - before).toBe(2);
    });

    it('GET /docs/json is an OpenAPI 3 document listing the chat routes', async () => {
      const r = await t.api('GET', '/docs/json');
      expect(r.status).toBe(200);
      const doc = r.body as any;
      expect(doc.openapi).toMatch(/^3\./);
      expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/v1/chat/rooms',
          '/v1/chat/rooms/{roomId}',
          '/v1/chat/rooms/{roomId}/messages',
          '/v1/chat/rooms/{roomId}/events',
          '/v1/chat/direct',
        ]),
      );
      expect(doc.paths['/v1/chat/rooms']).toHaveProperty('get');
      expect(doc.paths['/v1/chat/rooms']).toHaveProperty('post');
      expect(doc.components.securitySchemes).toHaveProperty('bearer');
      // Operational endpoints are hidden from the document.
      expect(doc.paths).not.toHaveProperty('/health');
    });
  });
}

for (const backend of (await availableBackends()).slice(0, 1)) {
  describe(`metrics behind METRICS_TOKEN (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend, { METRICS_TOKEN: 'scrape-token-0123456789' });
    });
    afterAll(() => t.close());

    it('refuses a scrape without the token or with a wrong one, and serves it with the token', async () => {
      expect((await fetch(`${t.baseUrl}/metrics`)).status).toBe(401);
      const wrong = await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
      const ok = await fetch(`${t.baseUrl}/metrics`, {
        headers: { authorization: 'Bearer scrape-token-0123456789' },
      });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('switchboard_http_request_duration_seconds');
    });
  });
}

for (const backend of (await availableBackends()).slice(0, 1)) {
  describe(`API_RATE_LIMIT (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend, { API_RATE_LIMIT: '3' });
    });
    afterAll(() => t.close());

    it('answers 429 RATE_LIMITED with Retry-After past the per-user request rate; other users are unaffected', async () => {
      const [alice, bob] = [await t.newUser(), await t.newUser()];
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => t.api('GET', '/v1/users/me', { token: alice.token })),
      );
      const limited = answers.filter((r) => r.status === 429);
      expect(answers.filter((r) => r.status === 200)).toHaveLength(3);
      expect(limited).toHaveLength(2);
      expect(limited[0]!.body.error.code).toBe('RATE_LIMITED');
      expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await t.api('GET', '/v1/users/me', { token: bob.token })).status).toBe(200);
    });
  });
}
