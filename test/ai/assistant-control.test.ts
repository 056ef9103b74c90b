import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerJob } from '../../src/ai/answer-runner.js';
import { availableBackends } from '../helpers/backends.js';
import { sleep } from '../helpers/fake-ai-servers/index.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { expectError, expectOk, newUsers, send } from '../http/http-helpers.js';
import { closeAll, is, live, type WsClient } from '../realtime/ws-client.js';
import {
  type AiHarness,
  aiRoom,
  fromBot,
  hungUp,
  roomMessages,
  shownText,
  startAiApp,
  waitForMessage,
} from './ai-helpers.js';

/** A long, slow answer: time enough to stop it. */
const slowAnswer = (n = 40, delayMs = 100) => ({
  kind: 'answer' as const,
  chunks: Array.from({ length: n }, (_, i) => `word${i} `),
  delayMs,
});

for (const backend of await availableBackends()) {
  describe(`AI answers: cancellation, retries, timeouts (${backend})`, () => {
    let h: AiHarness;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      h = await startAiApp(backend, { AI_JOB_ATTEMPTS: '2', AI_RESPONSE_TIMEOUT: '1500' });
    });
    afterAll(async () => {
      await closeAll(clients);
      await h.close();
    });
    const connect = async (...args: Parameters<typeof live>) => {
      const c = await live(...args);
      clients.push(c);
      return c;
    };

    it('/stop aborts the running answer: the provider connection closes and nothing is committed', async () => {
      const { t, anthropic, openai } = h;
      const [alice] = await newUsers(t, 1);
      const room = await aiRoom(t, alice);
      const a = await connect(t, alice);
      anthropic.script(slowAnswer());
      const openaiBefore = openai.requests.length;
      const q = await send(t, alice, room.roomId, '@ai tell me a very long story');
      const first = await a.next(
        (f) => f.type === 'ai_stream' && f.replyTo === q.messageId && f.delta !== '',
        10_000,
      );

      await send(t, alice, room.roomId, '/stop');

      const end = await a.next(is('ai_stream', { streamId: first.streamId, done: true }), 10_000);
      expect(end).toMatchObject({ status: 'stopped', reset: true, delta: '' });
      expect(await hungUp(anthropic.requests.at(-1))).toBe(true);
      expect(openai.requests.length).toBe(openaiBefore); // a cancel is not a failure: no fallback
      const history = await roomMessages(t, alice, room.roomId);
      expect(history.filter((m) => m.replyTo === q.messageId)).toEqual([]);
      expect(history.map((m) => m.content)).toEqual(['@ai tell me a very long story', '/stop']);
    });

    it('a newer trigger from the same user cancels the running answer; another user’s does not', async () => {
      const { t, anthropic, bot } = h;
      const [alice, bob] = await newUsers(t, 2);
      const room = await aiRoom(t, alice);
      expectOk(await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: bob.token }));
      const a = await connect(t, alice);
      anthropic.script(slowAnswer());
      const q1 = await send(t, alice, room.roomId, '@ai first question');
      const s1 = await a.next(
        (f) => f.type === 'ai_stream' && f.replyTo === q1.messageId && f.delta !== '',
        10_000,
      );
      const firstRequest = anthropic.requests.at(-1)!;

      anthropic.script({ kind: 'answer', chunks: ['answer ', 'two'] });
      const q2 = await send(t, alice, room.roomId, '@ai actually, second question');

      expect(await a.next(is('ai_stream', { streamId: s1.streamId, done: true }), 10_000)).toMatchObject({
        status: 'stopped',
      });
      expect(await hungUp(firstRequest)).toBe(true);
      const answer = await waitForMessage(
        t,
        alice,
        room.roomId,
        (m) => m.replyTo === q2.messageId,
        'answer two',
      );
      expect(answer).toMatchObject({ type: 'ai_response', content: 'answer two' });

      // Bob asking meanwhile does not stop Alice's answer.
      anthropic.script(slowAnswer(8, 50), { kind: 'answer', chunks: ['for bob'] });
      const q3 = await send(t, alice, room.roomId, '@ai third question');
      await a.next((f) => f.type === 'ai_stream' && f.replyTo === q3.messageId && f.delta !== '', 10_000);
      const q4 = await send(t, bob, room.roomId, '@ai bob asks');
      await waitForMessage(t, alice, room.roomId, (m) => m.replyTo === q4.messageId, 'bob answer');
      const third = await waitForMessage(
        t,
        alice,
        room.roomId,
        (m) => m.replyTo === q3.messageId,
        'third answer',
      );
      expect(third.content).toBe(slowAnswer(8).chunks.join('').trim());
      expect(fromBot(await roomMessages(t, alice, room.roomId), bot.userId)).toHaveLength(3);
    });

    it('a failed run is retried with a reset, and a job commits exactly one message however often it runs', async () => {
      const { t, anthropic, openai, bot } = h;
      const [alice] = await newUsers(t, 1);
      const room = await aiRoom(t, alice);
      const a = await connect(t, alice);
      const before = { anthropic: anthropic.requests.length, openai: openai.requests.length };
      // First run: both providers fail (the first after streaming some text). Second run: an answer.
      anthropic.script(
        { kind: 'disconnect', chunks: ['partial ', 'text ', 'lost'], afterChunks: 2 },
        { kind: 'answer', chunks: ['the ', 'real ', 'answer'] },
      );
      openai.script({ kind: 'status', status: 503, message: 'overloaded' });
      const q = await send(t, alice, room.roomId, '/ai are you reliable?');

      const answer = await waitForMessage(t, alice, room.roomId, (m) => m.replyTo === q.messageId, 'answer');
      expect(answer).toMatchObject({ type: 'ai_response', content: 'the real answer' });
      const streamId = answer.metadata.ai.streamId;
      await a.next(is('ai_stream', { streamId, done: true }), 10_000);
      const frames = a.all(is('ai_stream', { streamId }));
      expect(frames.some((f) => f.reset)).toBe(true);
      expect(shownText(frames)).toBe('the real answer');
      expect(anthropic.requests.length - before.anthropic).toBe(2);
      expect(openai.requests.length - before.openai).toBe(1);

      // The job runs again (a worker died after committing): no provider call, no second message.
      const data: AnswerJob = {
        kind: 'ask',
        roomId: room.roomId,
        userId: alice.userId,
        userName: alice.username,
        triggerMessageId: q.messageId,
        triggerSeq: q.seq,
        replyTo: null,
        text: 'are you reliable?',
        maxAttempts: 3,
      };
      await t.sb.ai.repo.setRequestStatus(streamId, 'running', Date.now()).catch(() => false);
      await t.sb.ai.runJob(
        {
          id: streamId,
          queue: 'ai',
          name: 'ask',
          data,
          attempt: 3,
          key: null,
          priority: 'normal',
          enqueuedAt: 0,
        },
        new AbortController().signal,
      );
      expect(anthropic.requests.length - before.anthropic).toBe(2);
      const mine = (await roomMessages(t, alice, room.roomId)).filter((m) => m.authorId === bot.userId);
      expect(mine).toHaveLength(1);
    });

    it('when every provider times out on the last run, the bot says so (no silent drop)', async () => {
      const { t, anthropic, openai, bot } = h;
      const [alice] = await newUsers(t, 1);
      const room = await aiRoom(t, alice);
      // Two runs (AI_JOB_ATTEMPTS=2): the first fails fast, on the last one both providers hang.
      anthropic.script({ kind: 'status', status: 500 }, { kind: 'hang' });
      openai.script(
        { kind: 'status', status: 500 },
        { kind: 'hang', chunks: ['so', 'slow'], afterChunks: 1 },
      );
      const first = anthropic.requests.length + 1;
      const firstOpenai = openai.requests.length + 1;
      const q = await send(t, alice, room.roomId, '@ai anyone there?');
      const notice = await waitForMessage(
        t,
        alice,
        room.roomId,
        (m) => m.replyTo === q.messageId,
        'failure',
        20_000,
      );
      expect(notice).toMatchObject({
        type: 'system',
        authorId: bot.userId,
        metadata: {
          ai: {
            status: 'failed',
            code: 'AI_UNAVAILABLE',
            attempts: [
              { provider: 'anthropic', code: 'AI_TIMEOUT' },
              { provider: 'openai', code: 'AI_TIMEOUT' },
            ],
          },
        },
      });
      expect(notice.content).toContain('could not answer');
      expect(await hungUp(anthropic.requests[first])).toBe(true);
      expect(await hungUp(openai.requests[firstOpenai])).toBe(true);
    }, 30_000);
  });

  describe(`AI limits and backpressure (${backend})`, () => {
    let h: AiHarness;
    beforeAll(async () => {
      h = await startAiApp(backend, { AI_USER_RATE_LIMIT: '2', AI_ROOM_RATE_LIMIT: '3' });
    });
    afterAll(() => h.close());

    it('per-user and per-room rate limits answer with a notice, once per minute', async () => {
      const { t, anthropic, bot } = h;
      const [alice, bob, carol] = await newUsers(t, 3);
      const room = await aiRoom(t, alice);
      for (const u of [bob, carol]) {
        expectOk(await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: u.token }));
      }
      for (const n of [1, 2]) {
        anthropic.script({ kind: 'answer', chunks: [`answer ${n}`] });
        const q = await send(t, alice, room.roomId, `@ai question ${n}`);
        await waitForMessage(t, alice, room.roomId, (m) => m.replyTo === q.messageId, `answer ${n}`);
      }
      const before = anthropic.requests.length;
      const third = await send(t, alice, room.roomId, '@ai question 3');
      const notice = await waitForMessage(
        t,
        alice,
        room.roomId,
        (m) => m.replyTo === third.messageId,
        'notice',
      );
      expect(notice).toMatchObject({
        type: 'system',
        authorId: bot.userId,
        metadata: { ai: { status: 'rate_limited', code: 'RATE_LIMITED' } },
      });
      expect(notice.content).toContain('too often');
      const fourth = await send(t, alice, room.roomId, '@ai question 4');

      // The room allows 3 per minute: Bob takes the last one, Carol is refused.
      anthropic.script({ kind: 'answer', chunks: ['for bob'] });
      const qb = await send(t, bob, room.roomId, '@ai bob here');
      await waitForMessage(t, alice, room.roomId, (m) => m.replyTo === qb.messageId, 'bob answer');
      const qc = await send(t, carol, room.roomId, '@ai carol here');
      const roomNotice = await waitForMessage(
        t,
        alice,
        room.roomId,
        (m) => m.replyTo === qc.messageId,
        'room notice',
      );
      expect(roomNotice.content).toContain('This room is asking the assistant too often');
      expect(anthropic.requests.length).toBe(before + 1);
      // Alice's fourth try got no second notice.
      expect(
        (await roomMessages(t, alice, room.roomId)).filter((m) => m.replyTo === fourth.messageId),
      ).toEqual([]);

      // /ask shares the per-user limit.
      expectError(
        await t.api('POST', '/v1/chat/ai/ask', { token: alice.token, body: { question: 'hi' } }),
        429,
        'RATE_LIMITED',
      );
    });
  });

  describe(`AI queue full (${backend})`, () => {
    let h: AiHarness;
    beforeAll(async () => {
      // No worker on this node: jobs stay queued.
      h = await startAiApp(backend, { AI_WORKER_CONCURRENCY: '0', AI_QUEUE_MAX: '1' });
    });
    afterAll(() => h.close());

    it('past AI_QUEUE_MAX waiting jobs a trigger gets a busy answer, and /ask a 503', async () => {
      const { t, bot } = h;
      const [alice, bob] = await newUsers(t, 2);
      const room = await aiRoom(t, alice);
      expectOk(await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: bob.token }));
      const q1 = await send(t, alice, room.roomId, '@ai first');
      await waitFor(async () => (await t.sb.queue.counts('ai')).waiting === 1);
      const q2 = await send(t, bob, room.roomId, '@ai second');
      const busy = await waitForMessage(
        t,
        bob,
        room.roomId,
        (m) => m.replyTo === q2.messageId,
        'busy notice',
      );
      expect(busy).toMatchObject({
        type: 'system',
        authorId: bot.userId,
        content: expect.stringContaining('busy'),
        metadata: { ai: { status: 'busy', code: 'AI_BUSY' } },
      });
      expect((await roomMessages(t, alice, room.roomId)).filter((m) => m.replyTo === q1.messageId)).toEqual(
        [],
      );
      const r = await t.api('POST', '/v1/chat/ai/ask', { token: bob.token, body: { question: 'hello?' } });
      expectError(r, 503, 'AI_BUSY');
      expect(r.headers.get('retry-after')).toBe('30');
    });
  });

  describe(`AI not configured (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    it('the bot answers with a clear notice; /ask answers 503 AI_NOT_CONFIGURED', async () => {
      const [alice] = await newUsers(t, 1);
      const status = expectOk(await t.api('GET', '/v1/chat/ai', { token: alice.token }));
      expect(status).toMatchObject({
        enabled: false,
        providers: [],
        bot: { username: 'ai', displayName: 'AI Assistant' },
      });
      const room = await aiRoom(t, alice);
      const q = await send(t, alice, room.roomId, '@ai hello?');
      const notice = await waitForMessage(t, alice, room.roomId, (m) => m.replyTo === q.messageId, 'notice');
      expect(notice).toMatchObject({
        type: 'system',
        authorId: status.bot.userId,
        content: expect.stringContaining('AI is not configured on this server'),
        metadata: { ai: { status: 'not_configured', code: 'AI_NOT_CONFIGURED' } },
      });
      expectError(
        await t.api('POST', '/v1/chat/ai/ask', { token: alice.token, body: { question: 'hi' } }),
        503,
        'AI_NOT_CONFIGURED',
      );
    });
  });
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error('condition not met');
}
