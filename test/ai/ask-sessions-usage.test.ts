import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_TTL_MS } from '../../src/ai/ai-sessions.js';
import { approxTokens } from '../../src/ai/prompts.js';
import { availableBackends } from '../helpers/backends.js';
import { expectError, expectOk, newUsers, send } from '../http/http-helpers.js';
import {
  type AiHarness,
  aiRoom,
  lastUserText,
  newAdmin,
  startAiApp,
  systemText,
  turnsOf,
  waitForMessage,
} from './ai-helpers.js';

for (const backend of await availableBackends()) {
  describe(`POST /v1/chat/ai/ask (${backend})`, () => {
    let h: AiHarness;
    beforeAll(async () => {
      h = await startAiApp(backend);
    });
    afterAll(() => h.close());

    it('answers with the seed shape, using the given context', async () => {
      const { t, anthropic } = h;
      const [alice] = await newUsers(t, 1);
      anthropic.script({ kind: 'answer', chunks: ['Par', 'is'], inputTokens: 30, outputTokens: 2 });
      const r = await t.api('POST', '/v1/chat/ai/ask', {
        token: alice.token,
        body: { question: 'What is the capital?', context: 'We are talking about France.' },
      });
      expect(expectOk(r)).toEqual({
        response: 'Paris',
        responseTime: expect.any(Number),
        provider: 'anthropic',
        model: 'claude-test',
        tokens: { input: 30, output: 2, total: 32 },
        fallbacks: [],
        timestamp: expect.any(String),
      });
      const prompt = lastUserText(anthropic.requests.at(-1));
      expect(prompt).toContain('Context given with the question:\nWe are talking about France.');
      expect(prompt).toContain(`${alice.username} asks: What is the capital?`);
    });

    it('with roomId: needs membership and enableAI, and reads the room', async () => {
      const { t, anthropic } = h;
      const [alice, bob] = await newUsers(t, 2);
      const plain = await t.newRoom(alice, { type: 'private' });
      expectError(
        await t.api('POST', '/v1/chat/ai/ask', {
          token: alice.token,
          body: { question: 'x', roomId: plain.roomId },
        }),
        403,
        'AI_DISABLED',
      );
      expectError(
        await t.api('POST', '/v1/chat/ai/ask', {
          token: bob.token,
          body: { question: 'x', roomId: plain.roomId },
        }),
        404,
        'ROOM_NOT_FOUND',
      );
      const room = await aiRoom(t, alice);
      await send(t, alice, room.roomId, 'The launch code is tangerine.');
      anthropic.script({ kind: 'answer', chunks: ['tangerine'] });
      const r = await t.api('POST', '/v1/chat/ai/ask', {
        token: alice.token,
        body: { question: 'What is the launch code?', roomId: room.roomId },
      });
      expect(expectOk(r).response).toBe('tangerine');
      expect(lastUserText(anthropic.requests.at(-1))).toContain(
        `${alice.username}: The launch code is tangerine.`,
      );
      expect(systemText(anthropic.requests.at(-1)!)).toContain(room.name);
    });

    it('every provider failing is 502 AI_UNAVAILABLE with the attempts; bad input is 400', async () => {
      const { t, anthropic, openai } = h;
      const [alice] = await newUsers(t, 1);
      anthropic.script({ kind: 'status', status: 429, headers: { 'retry-after': '7' } });
      openai.script({ kind: 'status', status: 500 });
      const r = await t.api('POST', '/v1/chat/ai/ask', { token: alice.token, body: { question: 'hello' } });
      expectError(r, 502, 'AI_UNAVAILABLE');
      expect(r.body.error.details).toMatchObject({
        attempts: [
          { provider: 'anthropic', code: 'AI_RATE_LIMITED', status: 429 },
          { provider: 'openai', code: 'AI_PROVIDER_ERROR', status: 500 },
        ],
        retryAfterMs: 7000,
      });
      expectError(
        await t.api('POST', '/v1/chat/ai/ask', { token: alice.token, body: { question: ' ' } }),
        400,
        'VALIDATION_FAILED',
      );
      expectError(
        await t.api('POST', '/v1/chat/ai/ask', { body: { question: 'hi' } }),
        401,
        'UNAUTHENTICATED',
      );
    });
  });

  describe(`AI sessions (${backend})`, () => {
    let h: AiHarness;
    let clock = Date.now();
    beforeAll(async () => {
      h = await startAiApp(backend, {}, { now: () => clock });
    });
    afterAll(() => h.close());

    it('earlier turns come back as conversation, for 24 hours', async () => {
      const { t, anthropic } = h;
      const [alice] = await newUsers(t, 1);
      const room = await aiRoom(t, alice);
      const ask = async (question: string, answer: string) => {
        anthropic.script({ kind: 'answer', chunks: [answer], inputTokens: 10, outputTokens: 5 });
        const r = await t.api('POST', '/v1/chat/ai/ask', {
          token: alice.token,
          body: { question, roomId: room.roomId },
        });
        expect(expectOk(r).response).toBe(answer);
        return anthropic.requests.at(-1)!;
      };
      await ask('My name is Zed.', 'Nice to meet you, Zed.');
      const second = await ask('What is my name?', 'Zed.');
      expect(
        turnsOf(second)
          .filter((x) => x.role !== 'system')
          .slice(0, 2),
      ).toEqual([
        { role: 'user', text: 'My name is Zed.' },
        { role: 'assistant', text: 'Nice to meet you, Zed.' },
      ]);
      const session = await t.sb.ai.sessions.find(alice.userId, room.roomId);
      expect(session).toMatchObject({
        turns: [{ q: 'My name is Zed.' }, { q: 'What is my name?' }],
        tokensUsed: 30,
      });
      expect(session!.expiresAt - session!.createdAt).toBe(SESSION_TTL_MS);

      clock += SESSION_TTL_MS + 1000;
      const third = await ask('Do you remember me?', 'No.');
      expect(turnsOf(third).filter((x) => x.role !== 'system')).toHaveLength(1);
      expect(lastUserText(third)).not.toContain('Zed');
      const fresh = await t.sb.ai.sessions.find(alice.userId, room.roomId);
      expect(fresh).toMatchObject({ turns: [{ q: 'Do you remember me?', a: 'No.' }], tokensUsed: 15 });
      expect(fresh!.id).not.toBe(session!.id);
    });

    it('chat answers add to the session; turns still in the room are not sent twice', async () => {
      const { t, anthropic } = h;
      const [alice] = await newUsers(t, 1);
      const room = await aiRoom(t, alice);
      for (const [q, a] of [
        ['first question', 'first answer'],
        ['second question', 'second answer'],
      ] as const) {
        anthropic.script({ kind: 'answer', chunks: [a] });
        const m = await send(t, alice, room.roomId, `@ai ${q}`);
        await waitForMessage(t, alice, room.roomId, (x) => x.replyTo === m.messageId, a);
      }
      const session = await t.sb.ai.sessions.find(alice.userId, room.roomId);
      expect(session?.turns).toMatchObject([
        { q: 'first question', a: 'first answer', messageId: expect.any(String) },
        { q: 'second question', a: 'second answer' },
      ]);
      // The first exchange is in the transcript, not repeated as turns.
      const req = anthropic.requests.at(-1)!;
      expect(turnsOf(req).filter((x) => x.role !== 'system')).toHaveLength(1);
      expect(lastUserText(req)).toContain('AI Assistant: first answer');
    });

    it('expired sessions are ignored by /ask and swept', async () => {
      const { t, anthropic } = h;
      const [bob] = await newUsers(t, 1);
      anthropic.script({ kind: 'answer', chunks: ['noted'] });
      expectOk(
        await t.api('POST', '/v1/chat/ai/ask', { token: bob.token, body: { question: 'Remember 42.' } }),
      );
      expect(await t.sb.ai.sessions.find(bob.userId, '')).toBeDefined();
      clock += SESSION_TTL_MS;
      expect(await t.sb.ai.repo.findSession(bob.userId, '')).toBeDefined(); // still stored...
      expect((await t.sb.ai.sweep()).sessions).toBeGreaterThanOrEqual(1); // ...until swept
      expect(await t.sb.ai.repo.findSession(bob.userId, '')).toBeUndefined();
    });
  });

  describe(`AI context budget (${backend})`, () => {
    let h: AiHarness;
    beforeAll(async () => {
      h = await startAiApp(backend, { AI_CONTEXT_TOKENS: '250' });
    });
    afterAll(() => h.close());

    it('keeps the newest messages that fit AI_CONTEXT_TOKENS (characters / 4)', async () => {
      const { t, anthropic } = h;
      const [alice] = await newUsers(t, 1);
      const room = await aiRoom(t, alice);
      for (let i = 0; i < 30; i++) await send(t, alice, room.roomId, `message ${i} ${'x'.repeat(40)}`);
      anthropic.script({ kind: 'answer', chunks: ['ok'] });
      const q = await send(t, alice, room.roomId, '@ai what happened?');
      await waitForMessage(t, alice, room.roomId, (m) => m.replyTo === q.messageId, 'answer');
      const req = anthropic.requests.at(-1)!;
      const prompt = lastUserText(req);
      expect(prompt).toContain('message 29 ');
      expect(prompt).not.toContain('message 0 ');
      const kept = [...prompt.matchAll(/message (\d+) /g)].map((m) => Number(m[1]));
      expect(kept.length).toBeGreaterThan(0);
      expect(kept).toEqual(kept.map((_, i) => 30 - kept.length + i)); // a contiguous newest run
      const total =
        approxTokens(systemText(req)) + turnsOf(req).reduce((n, x) => n + approxTokens(x.text), 0);
      expect(total).toBeLessThanOrEqual(250);
    });
  });

  describe(`strict moderation and usage accounting (${backend})`, () => {
    let h: AiHarness;
    beforeAll(async () => {
      h = await startAiApp(backend);
    });
    afterAll(() => h.close());

    it('strict rooms ask the LLM classifier after the local filter; a failing classifier lets the filter decide', async () => {
      const { t, anthropic, openai } = h;
      const [alice] = await newUsers(t, 1);
      const room = await t.newRoom(alice, { settings: { moderationLevel: 'strict' } });
      const post = (content: string) =>
        t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, { token: alice.token, body: { content } });

      anthropic.script({
        kind: 'answer',
        chunks: ['{"allowed": false, "categories": ["spam"], ', '"reason": "Looks like a scam"}'],
      });
      const blocked = await post('Send me 1 BTC and I will send back 2!');
      expectError(blocked, 422, 'CONTENT_BLOCKED');
      expect(blocked.body.error).toMatchObject({
        message: 'Looks like a scam',
        details: { source: 'ai', categories: ['spam'] },
      });
      const req = anthropic.requests.at(-1)!;
      expect(systemText(req)).toContain('content moderation classifier');
      expect(lastUserText(req)).toContain('Send me 1 BTC and I will send back 2!');

      anthropic.script({ kind: 'answer', chunks: ['```json\n{"allowed": true}\n```'] });
      expectOk(await post('Good morning everyone'), 201);

      // Not a verdict, then every provider down: the local filter alone decides (it allows this).
      anthropic.script({ kind: 'answer', chunks: ['I am not sure.'] });
      expectOk(await post('Is this fine?'), 201);
      anthropic.script({ kind: 'status', status: 500 });
      openai.script({ kind: 'status', status: 500 });
      expectOk(await post('Still here'), 201);

      // The local filter is the floor: profanity never reaches the classifier.
      const before = anthropic.requests.length;
      expectError(await post('what the fuck'), 422, 'CONTENT_BLOCKED');
      expect(anthropic.requests.length).toBe(before);
    });

    it('usage: Prometheus series in /metrics and totals for server admins', async () => {
      const { t, anthropic, openai } = h;
      const [alice] = await newUsers(t, 1);
      const room = await aiRoom(t, alice);
      anthropic.script({ kind: 'status', status: 500 });
      openai.script({ kind: 'answer', chunks: ['counted'], inputTokens: 100, outputTokens: 7 });
      const q = await send(t, alice, room.roomId, '@ai count me');
      await waitForMessage(t, alice, room.roomId, (m) => m.replyTo === q.messageId, 'answer');
      anthropic.script({ kind: 'answer', chunks: ['direct'], inputTokens: 11, outputTokens: 3 });
      expectOk(await t.api('POST', '/v1/chat/ai/ask', { token: alice.token, body: { question: 'hi' } }));

      const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(
        /switchboard_ai_requests_total\{kind="ask",provider="openai",model="gpt-test",status="ok"\} 1\b/,
      );
      expect(metrics).toMatch(
        /switchboard_ai_requests_total\{kind="api",provider="anthropic",model="claude-test",status="ok"\} 1\b/,
      );
      expect(metrics).toMatch(
        /switchboard_ai_tokens_total\{provider="openai",model="gpt-test",direction="input"\} 100\b/,
      );
      expect(metrics).toMatch(
        /switchboard_ai_tokens_total\{provider="openai",model="gpt-test",direction="output"\} 7\b/,
      );
      expect(metrics).toMatch(
        /switchboard_ai_latency_seconds_count\{provider="openai",model="gpt-test"\} 1\b/,
      );
      expect(metrics).toMatch(
        /switchboard_ai_provider_failures_total\{provider="anthropic",code="AI_PROVIDER_ERROR"\} \d+/,
      );
      expect(metrics).toMatch(
        /switchboard_ai_requests_total\{kind="moderation",provider="anthropic",model="claude-test",status="ok"\} \d+/,
      );

      expectError(await t.api('GET', '/v1/admin/ai/usage', { token: alice.token }), 403, 'FORBIDDEN');
      const admin = await newAdmin(t);
      const report = expectOk(await t.api('GET', '/v1/admin/ai/usage?limit=5', { token: admin.token }));
      const openaiRow = report.byProvider.find((r: any) => r.provider === 'openai');
      // The moderation test before failed over to openai once; the answer here is its one success.
      expect(openaiRow).toMatchObject({ model: 'gpt-test', inputTokens: 100, outputTokens: 7 });
      expect(openaiRow.requests - openaiRow.failures - openaiRow.cancelled).toBe(1);
      expect(openaiRow.avgLatencyMs).toBeGreaterThanOrEqual(0);
      expect(report.totals.requests).toBe(report.byProvider.reduce((n: number, r: any) => n + r.requests, 0));
      expect(report.recent).toHaveLength(5);
      expect(report.recent[0]).toMatchObject({
        kind: 'api',
        provider: 'anthropic',
        status: 'ok',
        inputTokens: 11,
      });
      expect(report.recent[1]).toMatchObject({
        kind: 'ask',
        provider: 'openai',
        roomId: room.roomId,
        userId: alice.userId,
        jobId: expect.any(String),
      });
      const later = expectOk(
        await t.api(
          'GET',
          `/v1/admin/ai/usage?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
          {
            token: admin.token,
          },
        ),
      );
      expect(later).toMatchObject({ totals: { requests: 0 }, byProvider: [], recent: [] });
    });
  });
}
