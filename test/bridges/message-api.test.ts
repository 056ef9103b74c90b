import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_KEY, eventually, newAdmin } from '../ai/ai-helpers.js';
import { availableBackends } from '../helpers/backends.js';
import { type FakeAiServer, startFakeAnthropic } from '../helpers/fake-ai-servers/index.js';
import type { TestUser } from '../helpers/test-app.js';
import { expectError, expectOk } from '../http/http-helpers.js';
import { type BridgeHarness, roomHistory, staffIn, startBridgeApp } from './bridge-helpers.js';

/**
 * `POST /message` (seed 003's generic integration API): API keys, the seed's body shape,
 * priorities feeding the AI job queue, idempotency, replies by polling and by signed callback.
 */
for (const backend of await availableBackends()) {
  describe(`POST /message (${backend})`, () => {
    let h: BridgeHarness;
    let anthropic: FakeAiServer;
    let key: { apiKey: string; keyId: string; callbackSecret: string };
    beforeAll(async () => {
      anthropic = await startFakeAnthropic(ANTHROPIC_KEY);
      h = await startBridgeApp(backend, {
        AI_PROVIDERS: 'anthropic',
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
        ANTHROPIC_BASE_URL: anthropic.baseUrl,
        ANTHROPIC_MODEL: 'claude-test',
        AI_STREAM_INTERVAL_MS: '20',
        AI_RETRY_BACKOFF_MS: '0',
        BRIDGE_AI_REPLIES: 'all',
        MESSAGE_API_RATE_LIMIT: '1000',
      });
      key = expectOk(
        await h.t.api('POST', '/v1/admin/api-keys', {
          token: h.admin.token,
          body: { name: 'helpdesk', callbackUrl: `${h.fake.baseUrl}/callback` },
        }),
        201,
      );
    });
    afterAll(async () => {
      await h.close();
      await anthropic.close();
    });

    const post = (body: unknown, apiKey = key.apiKey, headers: Record<string, string> = {}) =>
      h.t.api('POST', '/message', { body, headers: { authorization: `Bearer ${apiKey}`, ...headers } });

    it('admins create, list and revoke keys; the key is shown once and only its prefix after', async () => {
      const { t, admin } = h;
      const created = expectOk(
        await t.api('POST', '/v1/admin/api-keys', { token: admin.token, body: { name: 'temp' } }),
        201,
      );
      expect(created.apiKey).toMatch(/^sbk_[A-Za-z0-9_-]{32}$/);
      expect(created.callbackSecret).toBeNull();
      const listed = expectOk(await t.api('GET', '/v1/admin/api-keys', { token: admin.token })).keys;
      const mine = listed.find((k: any) => k.keyId === created.keyId);
      expect(mine).toMatchObject({ name: 'temp', prefix: created.apiKey.slice(0, 10), revokedAt: null });
      expect(JSON.stringify(listed)).not.toContain(created.apiKey);
      expect(
        (await t.api('DELETE', `/v1/admin/api-keys/${created.keyId}`, { token: admin.token })).status,
      ).toBe(204);
      expectError(
        await post({ user_id: 'u', platform: 'web', content: 'hi' }, created.apiKey),
        401,
        'INVALID_API_KEY',
      );
      expectError(
        await t.api('DELETE', '/v1/admin/api-keys/key_missing', { token: admin.token }),
        404,
        'NOT_FOUND',
      );
    });

    it('only server admins manage keys and bridges; no token is 401', async () => {
      const { t } = h;
      const user = await t.newUser();
      for (const [method, path, body] of [
        ['POST', '/v1/admin/api-keys', { name: 'x' }],
        ['GET', '/v1/admin/api-keys', undefined],
        ['DELETE', `/v1/admin/api-keys/${key.keyId}`, undefined],
        ['GET', '/v1/admin/bridges', undefined],
        ['GET', '/v1/admin/bridges/conversations', undefined],
        [
          'POST',
          '/v1/admin/bridges/conversations',
          { platform: 'slack', externalId: 'T:C', roomId: 'room_x' },
        ],
        ['DELETE', '/v1/admin/bridges/conversations/brc_x', undefined],
        ['POST', '/v1/admin/bridges/conversations/brc_x/staff', {}],
      ] as const) {
        expectError(await t.api(method, path, { token: user.token, body }), 403, 'FORBIDDEN');
        expectError(await t.api(method, path, { body }), 401, 'UNAUTHENTICATED');
      }
    });

    it('refuses missing, malformed and unknown keys, and a user token', async () => {
      const body = { user_id: 'u1', platform: 'web', content: 'hello' };
      expectError(await h.t.api('POST', '/message', { body }), 401, 'UNAUTHENTICATED');
      expectError(await post(body, 'sbk_not-a-real-key-000000000000000000'), 401, 'INVALID_API_KEY');
      expectError(await post(body, h.admin.token), 401, 'INVALID_API_KEY');
      const viaHeader = await h.t.api('POST', '/message', { body, headers: { 'x-api-key': key.apiKey } });
      expect(viaHeader.status).toBe(202);
    });

    it('validates the seed body: required fields, priority values, sizes, unknown fields', async () => {
      for (const bad of [
        {},
        { user_id: 'u', platform: 'web' },
        { user_id: 'u', platform: 'web', content: '' },
        { user_id: 'u', platform: 'we b', content: 'x' },
        { user_id: 'u', platform: 'web', content: 'x', priority: 'Critical' },
        { user_id: 'u', platform: 'web', content: 'x', thread_id: 'has space' },
        { user_id: 'u', platform: 'web', content: 'x', role: 'admin' },
        { user_id: 'u'.repeat(129), platform: 'web', content: 'x' },
      ]) {
        const r = await post(bad);
        expect({ bad, status: r.status, code: r.body.error?.code }).toEqual({
          bad,
          status: 400,
          code: 'VALIDATION_FAILED',
        });
      }
      expectError(
        await post({ user_id: 'u', platform: 'web', content: 'x'.repeat(10_001) }),
        400,
        'MESSAGE_TOO_LONG',
      );
    });

    it('posts in the seed shape; the AI answers in the thread with the requested queue priority; GET /message/:id shows it', async () => {
      const { t } = h;
      // Earlier tests' messages trigger answers too (every message does here): enough for all of them.
      for (let i = 0; i < 20; i++)
        anthropic.script({ kind: 'answer', chunks: ['Your order ', 'ships today.'] });
      const r = await post({
        user_id: 'cust-42',
        platform: 'Discord',
        content: 'Where is my order?',
        priority: 'High',
        thread_id: 'ticket-7',
        metadata: { orderId: 'A-1' },
      });
      const data = expectOk(r, 202);
      expect(data).toMatchObject({ status: 'accepted', threadId: 'ticket-7', duplicate: false });

      // The answer job is queued right after the commit, with the priority asked for.
      const jobOf = () =>
        t.sb.store.db
          .selectFrom('jobs')
          .selectAll()
          .where('id', '=', `ai_${data.messageId}`)
          .executeTakeFirst();
      await eventually('AI job', async () => (await jobOf()) !== undefined);
      expect((await jobOf())?.priority).toBe(1); // high

      let status: any;
      await eventually('AI reply', async () => {
        status = expectOk(
          await t.api('GET', `/message/${data.messageId}`, {
            headers: { authorization: `Bearer ${key.apiKey}` },
          }),
        );
        return status.replies.some((m: any) => m.type === 'ai_response');
      });
      expect(status.message).toMatchObject({
        content: 'Where is my order?',
        metadata: {
          bridge: {
            platform: 'api',
            extra: { platform: 'Discord', userId: 'cust-42', metadata: { orderId: 'A-1' } },
          },
        },
      });
      expect(status.replies.find((m: any) => m.type === 'ai_response').content).toBe(
        'Your order ships today.',
      );

      // The callback got the answer, signed with the key's callback secret.
      const cb = await h.fake
        .waitFor('callback', () =>
          h.fake
            .of('callback')
            .some((c) => c.body?.message?.type === 'ai_response' && c.body.threadId === 'ticket-7'),
        )
        .then(
          () =>
            h.fake
              .of('callback')
              .find((c) => c.body?.message?.type === 'ai_response' && c.body.threadId === 'ticket-7')!,
        );
      expect(cb.body).toMatchObject({
        type: 'message',
        platform: 'discord',
        threadId: 'ticket-7',
        conversationId: data.conversationId,
      });
      const sig = String(cb.headers['x-switchboard-signature']);
      const [, t0, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig)!;
      expect(createHmac('sha256', key.callbackSecret).update(`${t0}.${cb.raw}`).digest('hex')).toBe(v1);
      // The integration's own message is not called back.
      expect(h.fake.of('callback').some((c) => c.body?.message?.messageId === data.messageId)).toBe(false);
    });

    it('message_id makes a retry idempotent: 200 with duplicate: true and the same message', async () => {
      anthropic.script({ kind: 'answer', chunks: ['ok'] });
      const body = { user_id: 'cust-43', platform: 'web', content: 'once', message_id: 'm-1' };
      const a = expectOk(await post(body), 202);
      const b = expectOk(await post(body), 200);
      expect(b).toMatchObject({ messageId: a.messageId, duplicate: true });
    });

    it('threads are conversations: one room per (platform, thread); without thread_id, one per user', async () => {
      anthropic.script(
        { kind: 'answer', chunks: ['a'] },
        { kind: 'answer', chunks: ['b'] },
        { kind: 'answer', chunks: ['c'] },
      );
      const a = expectOk(await post({ user_id: 'cust-44', platform: 'web', content: 'one' }), 202);
      const b = expectOk(await post({ user_id: 'cust-44', platform: 'web', content: 'two' }), 202);
      const c = expectOk(await post({ user_id: 'cust-44', platform: 'mobile', content: 'three' }), 202);
      expect(a.roomId).toBe(b.roomId);
      expect(a.threadId).toBe('user-cust-44');
      expect(c.roomId).not.toBe(a.roomId);
    });

    it("another key cannot read this key's messages", async () => {
      const other = expectOk(
        await h.t.api('POST', '/v1/admin/api-keys', { token: h.admin.token, body: { name: 'other' } }),
        201,
      );
      anthropic.script({ kind: 'answer', chunks: ['x'] });
      const mine = expectOk(await post({ user_id: 'cust-45', platform: 'web', content: 'private' }), 202);
      expectError(
        await h.t.api('GET', `/message/${mine.messageId}`, {
          headers: { authorization: `Bearer ${other.apiKey}` },
        }),
        404,
        'MESSAGE_NOT_FOUND',
      );
    });

    it('staff in the conversation room see the thread and their reply is called back', async () => {
      const { t, admin } = h;
      anthropic.script({ kind: 'answer', chunks: ['bot answer'] });
      const posted = expectOk(
        await post({ user_id: 'cust-46', platform: 'web', content: 'need a human', thread_id: 'human-1' }),
        202,
      );
      const staff: TestUser = await newAdmin(t);
      const roomId = await staffIn(t, admin, posted.conversationId, staff);
      expect(roomId).toBe(posted.roomId);
      const r = await t.api('POST', `/v1/chat/rooms/${roomId}/messages`, {
        token: staff.token,
        body: { content: 'I am here', replyTo: posted.messageId },
      });
      const reply = expectOk(r, 201);
      await h.fake.waitFor('staff callback', () =>
        h.fake.of('callback').some((c) => c.body?.message?.messageId === reply.messageId),
      );
      const msgs = await roomHistory(t, staff, roomId);
      expect(msgs.some((m) => m.content === 'need a human')).toBe(true);
    });

    it('rate-limits per key (MESSAGE_API_RATE_LIMIT)', async () => {
      const limited = await startBridgeApp(backend, {
        MESSAGE_API_RATE_LIMIT: '2',
        BRIDGE_AI_REPLIES: 'off',
      });
      try {
        const k = expectOk(
          await limited.t.api('POST', '/v1/admin/api-keys', {
            token: limited.admin.token,
            body: { name: 'k' },
          }),
          201,
        );
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) {
          const res = await limited.t.api('POST', '/message', {
            body: { user_id: 'u', platform: 'web', content: `m${i}` },
            headers: { authorization: `Bearer ${k.apiKey}` },
          });
          statuses.push(res.status);
        }
        expect(statuses.filter((s) => s === 202)).toHaveLength(2);
        expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
      } finally {
        await limited.close();
      }
    });
  });
}
