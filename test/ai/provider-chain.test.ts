import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AiError, isAiError } from '../../src/ai/providers/ai-errors.js';
import {
  type AiAnswer,
  AiProviderChain,
  type AiRequest,
  type AiStreamEvent,
  parseRetryAfter,
} from '../../src/ai/providers/ai-provider-chain.js';
import {
  type AiProviderName,
  type AiProviderSettings,
  createLanguageModel,
  DEFAULT_AI_MODELS,
  resolveAiProviderSettings,
} from '../../src/ai/providers/provider-config.js';
import {
  type FakeAiServer,
  type RecordedRequest,
  sleep,
  startFakeAnthropic,
  startFakeGoogle,
  startFakeOpenAI,
  startFakeOpenAICompatible,
} from '../helpers/fake-ai-servers/index.js';

/**
 * The real AI SDK against local servers that speak each provider's wire protocol.
 */

const KEYS = {
  anthropic: 'sk-ant-test',
  openai: 'sk-openai-test',
  google: 'google-test-key',
  'openai-compatible': 'local-key',
} as const;

const MODELS: Record<AiProviderName, string> = {
  anthropic: 'claude-sonnet-4-5',
  openai: 'gpt-4o-mini',
  google: 'gemini-2.5-flash',
  'openai-compatible': 'llama3.2',
};

let fakes: Record<AiProviderName, FakeAiServer>;

beforeEach(async () => {
  const [anthropic, openai, google, compatible] = await Promise.all([
    startFakeAnthropic(KEYS.anthropic),
    startFakeOpenAI(KEYS.openai),
    startFakeGoogle(KEYS.google),
    startFakeOpenAICompatible(KEYS['openai-compatible']),
  ]);
  fakes = { anthropic, openai, google, 'openai-compatible': compatible };
});

afterEach(async () => {
  await Promise.all(Object.values(fakes).map((f) => f.close()));
});

function settings(name: AiProviderName, overrides: Partial<AiProviderSettings> = {}): AiProviderSettings {
  return { name, apiKey: KEYS[name], baseUrl: fakes[name].baseUrl, model: MODELS[name], ...overrides };
}

function chain(names: AiProviderName[], opts: { timeoutMs?: number; maxOutputTokens?: number } = {}) {
  return new AiProviderChain(
    names.map((n) => settings(n)),
    { timeoutMs: opts.timeoutMs ?? 5_000, maxOutputTokens: opts.maxOutputTokens ?? 256 },
  );
}

const CONVERSATION: AiRequest = {
  system: 'You are Switchboard, a helpful assistant.',
  messages: [
    { role: 'user', content: 'What is the capital of France?' },
    { role: 'assistant', content: 'Paris.' },
    { role: 'user', content: 'And of Italy?' },
  ],
};

/** Runs a request, collecting events, and applies them the way a UI would (reset drops the partial). */
async function run(
  c: AiProviderChain,
  req: AiRequest = CONVERSATION,
): Promise<{ answer: AiAnswer; events: AiStreamEvent[]; shown: string }> {
  const events: AiStreamEvent[] = [];
  let shown = '';
  const answer = await c.stream(req, (e) => {
    events.push(e);
    shown = e.type === 'delta' ? shown + e.text : '';
  });
  return { answer, events, shown };
}

async function rejection(promise: Promise<unknown>): Promise<AiError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AiError);
  return err as AiError;
}

/** Did the client hang up on this request? Waits (bounded) for the connection to close. */
async function closedByClient(req: RecordedRequest | undefined): Promise<boolean> {
  if (!req) return false;
  await Promise.race([req.whenClosed, sleep(2_000)]);
  return req.closedByClient;
}

function deltas(events: AiStreamEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'delta' ? [e.text] : []));
}

describe('each provider streams an answer through the real SDK', () => {
  it('anthropic: Messages API with x-api-key, system as a top-level block', async () => {
    fakes.anthropic.script({
      kind: 'answer',
      chunks: ['Rome', ' is', ' the capital.'],
      inputTokens: 31,
      outputTokens: 6,
    });
    const { answer, events } = await run(chain(['anthropic'], { maxOutputTokens: 321 }));

    expect(deltas(events)).toEqual(['Rome', ' is', ' the capital.']);
    expect(answer).toMatchObject({
      text: 'Rome is the capital.',
      provider: 'anthropic',
      model: MODELS.anthropic,
      inputTokens: 31,
      outputTokens: 6,
      attempts: [],
    });
    expect(answer.latencyMs).toBeGreaterThanOrEqual(0);

    const req = fakes.anthropic.requests[0]!;
    expect(fakes.anthropic.requests).toHaveLength(1);
    expect(req.path).toBe('/v1/messages');
    expect(req.headers['x-api-key']).toBe(KEYS.anthropic);
    expect(req.headers['anthropic-version']).toBe('2023-06-01');
    expect(req.body).toMatchObject({
      model: MODELS.anthropic,
      stream: true,
      max_tokens: 321,
      system: [{ type: 'text', text: CONVERSATION.system }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'What is the capital of France?' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Paris.' }] },
        { role: 'user', content: [{ type: 'text', text: 'And of Italy?' }] },
      ],
    });
  });

  it('openai: Responses API with a Bearer key, system as the first input item', async () => {
    fakes.openai.script({ kind: 'answer', chunks: ['Ro', 'me.'], inputTokens: 40, outputTokens: 3 });
    const { answer, events } = await run(chain(['openai'], { maxOutputTokens: 99 }));

    expect(deltas(events)).toEqual(['Ro', 'me.']);
    expect(answer).toMatchObject({
      text: 'Rome.',
      provider: 'openai',
      model: MODELS.openai,
      inputTokens: 40,
      outputTokens: 3,
    });
    const req = fakes.openai.requests[0]!;
    expect(req.path).toBe('/v1/responses');
    expect(req.headers.authorization).toBe(`Bearer ${KEYS.openai}`);
    expect(req.body).toMatchObject({
      model: MODELS.openai,
      stream: true,
      max_output_tokens: 99,
      input: [
        { role: 'system', content: CONVERSATION.system },
        { role: 'user', content: [{ type: 'input_text', text: 'What is the capital of France?' }] },
        { role: 'assistant', content: [{ type: 'output_text', text: 'Paris.' }] },
        { role: 'user', content: [{ type: 'input_text', text: 'And of Italy?' }] },
      ],
    });
  });

  it('google: streamGenerateContent?alt=sse with x-goog-api-key, systemInstruction, model role', async () => {
    fakes.google.script({ kind: 'answer', chunks: ['Rom', 'a', '!'], inputTokens: 22, outputTokens: 4 });
    const { answer, events } = await run(chain(['google'], { maxOutputTokens: 64 }));

    expect(deltas(events)).toEqual(['Rom', 'a', '!']);
    expect(answer).toMatchObject({
      text: 'Roma!',
      provider: 'google',
      model: MODELS.google,
      inputTokens: 22,
      outputTokens: 4,
    });
    const req = fakes.google.requests[0]!;
    expect(req.path).toBe(`/v1beta/models/${MODELS.google}:streamGenerateContent`);
    expect(req.query.get('alt')).toBe('sse');
    expect(req.headers['x-goog-api-key']).toBe(KEYS.google);
    expect(req.body).toMatchObject({
      systemInstruction: { parts: [{ text: CONVERSATION.system }] },
      contents: [
        { role: 'user', parts: [{ text: 'What is the capital of France?' }] },
        { role: 'model', parts: [{ text: 'Paris.' }] },
        { role: 'user', parts: [{ text: 'And of Italy?' }] },
      ],
      generationConfig: { maxOutputTokens: 64 },
    });
  });

  it('openai-compatible: Chat Completions with include_usage (Ollama / vLLM / llama.cpp)', async () => {
    fakes['openai-compatible'].script({
      kind: 'answer',
      chunks: ['Rome', '.'],
      inputTokens: 50,
      outputTokens: 2,
    });
    const { answer, events } = await run(chain(['openai-compatible'], { maxOutputTokens: 128 }));

    expect(deltas(events)).toEqual(['Rome', '.']);
    expect(answer).toMatchObject({
      text: 'Rome.',
      provider: 'openai-compatible',
      model: MODELS['openai-compatible'],
      inputTokens: 50,
      outputTokens: 2,
    });
    const req = fakes['openai-compatible'].requests[0]!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${KEYS['openai-compatible']}`);
    expect(req.body).toMatchObject({
      model: MODELS['openai-compatible'],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 128,
      messages: [
        { role: 'system', content: CONVERSATION.system },
        { role: 'user', content: 'What is the capital of France?' },
        { role: 'assistant', content: 'Paris.' },
        { role: 'user', content: 'And of Italy?' },
      ],
    });
  });

  it('openai-compatible without a key sends no Authorization header (local servers)', async () => {
    const open = await startFakeOpenAICompatible(undefined);
    try {
      open.script({ kind: 'answer', chunks: ['ok'] });
      const c = new AiProviderChain(
        [{ name: 'openai-compatible', baseUrl: open.baseUrl, model: 'qwen2.5' }],
        { timeoutMs: 5_000, maxOutputTokens: 10 },
      );
      const answer = await c.complete(CONVERSATION);
      expect(answer.text).toBe('ok');
      expect(open.requests[0]!.headers.authorization).toBeUndefined();
    } finally {
      await open.close();
    }
  });

  it.each(['anthropic', 'openai', 'google', 'openai-compatible'] as const)(
    '%s: a wrong key is rejected by the fake (401) and reported, not answered',
    async (name) => {
      fakes[name].script({ kind: 'answer', chunks: ['should not be sent'] });
      const c = new AiProviderChain([settings(name, { apiKey: 'wrong-key' })], {
        timeoutMs: 5_000,
        maxOutputTokens: 10,
      });
      const err = await rejection(c.complete(CONVERSATION));
      expect(err.code).toBe('AI_UNAVAILABLE');
      expect(err.attempts).toEqual([
        expect.objectContaining({ provider: name, code: 'AI_PROVIDER_ERROR', status: 401 }),
      ]);
      expect(fakes[name].requests[0]!.authorized).toBe(false);
    },
  );

  it('uses the per-request maxOutputTokens over the chain default', async () => {
    fakes.anthropic.script({ kind: 'answer', chunks: ['x'] });
    await chain(['anthropic'], { maxOutputTokens: 500 }).complete({ ...CONVERSATION, maxOutputTokens: 7 });
    expect(fakes.anthropic.requests[0]!.body.max_tokens).toBe(7);
  });
});

describe('fallback', () => {
  it('on HTTP 500 the next provider answers, once: the SDK does not retry on its own', async () => {
    fakes.anthropic.script({ kind: 'status', status: 500, message: 'internal meltdown' });
    fakes.openai.script({ kind: 'answer', chunks: ['from ', 'openai'] });

    const { answer, events } = await run(chain(['anthropic', 'openai']));

    expect(answer.text).toBe('from openai');
    expect(answer.provider).toBe('openai');
    expect(answer.attempts).toEqual([
      expect.objectContaining({
        provider: 'anthropic',
        model: MODELS.anthropic,
        code: 'AI_PROVIDER_ERROR',
        status: 500,
        error: expect.stringContaining('internal meltdown'),
      }),
    ]);
    expect(events.some((e) => e.type === 'reset')).toBe(false); // nothing was streamed before the failure
    expect(fakes.anthropic.requests).toHaveLength(1); // maxRetries: 0
    expect(fakes.openai.requests).toHaveLength(1);
  });

  it('on 529 overloaded (Anthropic) the next provider answers', async () => {
    fakes.anthropic.script({ kind: 'status', status: 529, message: 'Overloaded' });
    fakes.google.script({ kind: 'answer', chunks: ['gemini here'] });
    const { answer } = await run(chain(['anthropic', 'google']));
    expect(answer.provider).toBe('google');
    expect(answer.attempts[0]).toMatchObject({
      provider: 'anthropic',
      status: 529,
      code: 'AI_PROVIDER_ERROR',
    });
  });

  it('on 429 with retry-after the attempt is AI_RATE_LIMITED with retryAfterMs, and the next provider answers', async () => {
    fakes.anthropic.script({
      kind: 'status',
      status: 429,
      message: 'Number of request tokens has exceeded your per-minute rate limit',
      headers: { 'retry-after': '12' },
    });
    fakes.google.script({ kind: 'answer', chunks: ['ok'] });

    const { answer } = await run(chain(['anthropic', 'google']));

    expect(answer.provider).toBe('google');
    expect(answer.attempts).toEqual([
      expect.objectContaining({
        provider: 'anthropic',
        code: 'AI_RATE_LIMITED',
        status: 429,
        retryAfterMs: 12_000,
      }),
    ]);
    expect(fakes.anthropic.requests).toHaveLength(1); // the SDK did not wait 12 s and retry
  });

  it('reads OpenAI retry-after-ms', async () => {
    fakes.openai.script({
      kind: 'status',
      status: 429,
      headers: { 'retry-after-ms': '1500', 'retry-after': '2' },
    });
    fakes['openai-compatible'].script({ kind: 'answer', chunks: ['local'] });
    const { answer } = await run(chain(['openai', 'openai-compatible']));
    expect(answer.attempts[0]).toMatchObject({ code: 'AI_RATE_LIMITED', retryAfterMs: 1500 });
  });

  it('on a mid-stream disconnect emits reset and the final text comes only from the next provider', async () => {
    fakes.openai.script({
      kind: 'disconnect',
      chunks: ['Partial ', 'answer ', 'never finished'],
      afterChunks: 2,
    });
    fakes['openai-compatible'].script({ kind: 'answer', chunks: ['Complete ', 'answer.'] });

    const { answer, events, shown } = await run(chain(['openai', 'openai-compatible']));

    expect(events).toEqual([
      { type: 'delta', text: 'Partial ' },
      { type: 'delta', text: 'answer ' },
      { type: 'reset', provider: 'openai', reason: expect.any(String) },
      { type: 'delta', text: 'Complete ' },
      { type: 'delta', text: 'answer.' },
    ]);
    expect(answer.text).toBe('Complete answer.');
    expect(shown).toBe('Complete answer.');
    expect(answer.provider).toBe('openai-compatible');
    expect(answer.attempts).toEqual([
      expect.objectContaining({ provider: 'openai', code: 'AI_PROVIDER_ERROR' }),
    ]);
  });

  it.each(['anthropic', 'openai', 'google', 'openai-compatible'] as const)(
    '%s: a disconnect after some deltas is a failure, not a short answer',
    async (name) => {
      fakes[name].script({ kind: 'disconnect', chunks: ['a', 'b', 'c'], afterChunks: 2 });
      const events: AiStreamEvent[] = [];
      const err = await rejection(chain([name]).stream(CONVERSATION, (e) => events.push(e)));
      expect(err.code).toBe('AI_UNAVAILABLE');
      expect(deltas(events)).toEqual(['a', 'b']);
      expect(events.at(-1)).toMatchObject({ type: 'reset', provider: name });
    },
  );

  it.each(['anthropic', 'openai', 'google', 'openai-compatible'] as const)(
    '%s: a stream closed cleanly before its final events is treated as truncated',
    async (name) => {
      fakes[name].script({ kind: 'truncate', chunks: ['a', 'b', 'c'], afterChunks: 2 });
      const other = name === 'anthropic' ? 'openai' : 'anthropic';
      fakes[other].script({ kind: 'answer', chunks: ['whole'] });
      const { answer, events } = await run(chain([name, other]));
      expect(answer.text).toBe('whole');
      expect(answer.provider).toBe(other);
      expect(events.find((e) => e.type === 'reset')).toMatchObject({ provider: name });
    },
  );

  it('on an error event inside the stream (Anthropic rate_limit_error) resets and falls back', async () => {
    fakes.anthropic.script({
      kind: 'stream-error',
      chunks: ['Half', ' an answer'],
      afterChunks: 1,
      errorType: 'rate_limit_error',
      message: 'slow down',
    });
    fakes.openai.script({ kind: 'answer', chunks: ['Full answer'] });

    const { answer, events } = await run(chain(['anthropic', 'openai']));

    expect(answer.text).toBe('Full answer');
    expect(events.map((e) => e.type)).toEqual(['delta', 'reset', 'delta']);
    expect(answer.attempts[0]).toMatchObject({
      provider: 'anthropic',
      code: 'AI_RATE_LIMITED',
      error: expect.stringContaining('slow down'),
    });
  });

  it('on timeout (server never answers) aborts the request, the fake sees the connection closed, next answers', async () => {
    fakes.google.script({ kind: 'hang' });
    fakes.anthropic.script({ kind: 'answer', chunks: ['in time'] });

    const started = Date.now();
    const { answer } = await run(chain(['google', 'anthropic'], { timeoutMs: 300 }));
    const elapsed = Date.now() - started;

    expect(answer.text).toBe('in time');
    expect(answer.attempts).toEqual([expect.objectContaining({ provider: 'google', code: 'AI_TIMEOUT' })]);
    expect(answer.attempts[0]!.latencyMs).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(3_000);
    expect(await closedByClient(fakes.google.requests[0])).toBe(true);
  });

  it('on timeout mid-stream (deltas then silence) resets and closes the connection', async () => {
    fakes.openai.script({ kind: 'hang', chunks: ['one', 'two', 'three'], afterChunks: 2 });
    fakes['openai-compatible'].script({ kind: 'answer', chunks: ['fresh'] });

    const { answer, events } = await run(chain(['openai', 'openai-compatible'], { timeoutMs: 300 }));

    expect(events).toEqual([
      { type: 'delta', text: 'one' },
      { type: 'delta', text: 'two' },
      { type: 'reset', provider: 'openai', reason: expect.stringContaining('300 ms') },
      { type: 'delta', text: 'fresh' },
    ]);
    expect(answer.attempts[0]).toMatchObject({ provider: 'openai', code: 'AI_TIMEOUT' });
    expect(await closedByClient(fakes.openai.requests[0])).toBe(true);
  });

  it('all failing → AI_UNAVAILABLE listing every attempt in order, with the smallest retry hint', async () => {
    fakes.anthropic.script({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    fakes.openai.script({ kind: 'status', status: 503, message: 'unavailable' });
    fakes.google.script({ kind: 'status', status: 429, headers: { 'retry-after': '5' } });
    fakes['openai-compatible'].script({ kind: 'hang' });

    const err = await rejection(
      run(chain(['anthropic', 'openai', 'google', 'openai-compatible'], { timeoutMs: 250 })),
    );

    expect(err.code).toBe('AI_UNAVAILABLE');
    expect(isAiError(err, 'AI_UNAVAILABLE')).toBe(true);
    expect(err.attempts.map((a) => [a.provider, a.code, a.status])).toEqual([
      ['anthropic', 'AI_RATE_LIMITED', 429],
      ['openai', 'AI_PROVIDER_ERROR', 503],
      ['google', 'AI_RATE_LIMITED', 429],
      ['openai-compatible', 'AI_TIMEOUT', undefined],
    ]);
    expect(err.attempts.map((a) => a.model)).toEqual([
      MODELS.anthropic,
      MODELS.openai,
      MODELS.google,
      MODELS['openai-compatible'],
    ]);
    expect(err.retryAfterMs).toBe(5_000);
    expect(err.message).toContain('anthropic');
    expect(err.message).toContain('openai-compatible');
  });
});

describe('cancellation', () => {
  it('mid-stream: rejects with AI_CANCELLED at once, closes the connection, tries no other provider', async () => {
    fakes.anthropic.script({ kind: 'answer', chunks: ['a', 'b', 'c', 'd', 'e', 'f'], delayMs: 300 });
    fakes.openai.script({ kind: 'answer', chunks: ['must not be asked'] });
    const controller = new AbortController();
    const events: AiStreamEvent[] = [];
    let abortedAt = 0;

    const err = await rejection(
      chain(['anthropic', 'openai']).stream({ ...CONVERSATION, signal: controller.signal }, (e) => {
        events.push(e);
        if (e.type === 'delta' && e.text === 'b') {
          abortedAt = Date.now();
          controller.abort();
        }
      }),
    );

    expect(err.code).toBe('AI_CANCELLED');
    expect(Date.now() - abortedAt).toBeLessThan(250); // did not wait for the next chunk (300 ms away)
    expect(deltas(events)).toEqual(['a', 'b']);
    expect(events.some((e) => e.type === 'reset')).toBe(false);
    expect(await closedByClient(fakes.anthropic.requests[0])).toBe(true);
    expect(fakes.openai.requests).toHaveLength(0);
  });

  it('while waiting for the first byte: AI_CANCELLED and the pending request is closed', async () => {
    fakes.google.script({ kind: 'hang' });
    const controller = new AbortController();
    const pending = chain(['google', 'anthropic']).complete({ ...CONVERSATION, signal: controller.signal });
    await expect.poll(() => fakes.google.requests.length).toBe(1);
    controller.abort(new Error('user deleted the message'));

    const err = await rejection(pending);
    expect(err.code).toBe('AI_CANCELLED');
    expect((err.cause as Error).message).toBe('user deleted the message');
    expect(await closedByClient(fakes.google.requests[0])).toBe(true);
    expect(fakes.anthropic.requests).toHaveLength(0);
  });

  it('an already-aborted signal sends no request at all', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await rejection(
      chain(['anthropic']).complete({ ...CONVERSATION, signal: controller.signal }),
    );
    expect(err.code).toBe('AI_CANCELLED');
    expect(fakes.anthropic.requests).toHaveLength(0);
  });
});

describe('configuration and accounting', () => {
  it('no providers → AI_NOT_CONFIGURED', async () => {
    const c = new AiProviderChain([], { timeoutMs: 1_000, maxOutputTokens: 10 });
    const err = await rejection(c.complete(CONVERSATION));
    expect(err.code).toBe('AI_NOT_CONFIGURED');
  });

  it('a hosted provider without a key, or a compatible one without base URL/model, is AI_NOT_CONFIGURED up front', () => {
    const attempt = (s: AiProviderSettings) => () =>
      new AiProviderChain([s], { timeoutMs: 1, maxOutputTokens: 1 });
    expect(attempt({ name: 'anthropic', model: 'm' })).toThrow(
      expect.objectContaining({
        code: 'AI_NOT_CONFIGURED',
        message: expect.stringContaining('ANTHROPIC_API_KEY'),
      }),
    );
    expect(attempt({ name: 'google', apiKey: ' ', model: 'm' })).toThrow(
      expect.objectContaining({ code: 'AI_NOT_CONFIGURED' }),
    );
    expect(attempt({ name: 'openai-compatible', model: 'm' })).toThrow(
      expect.objectContaining({ code: 'AI_NOT_CONFIGURED', message: expect.stringContaining('BASE_URL') }),
    );
    expect(() => createLanguageModel({ name: 'bogus' as AiProviderName, apiKey: 'k', model: 'm' })).toThrow(
      expect.objectContaining({ code: 'AI_NOT_CONFIGURED' }),
    );
  });

  it('resolveAiProviderSettings fills in default models and requires one for openai-compatible', () => {
    expect(resolveAiProviderSettings({ name: 'anthropic', apiKey: 'k' })).toEqual({
      name: 'anthropic',
      apiKey: 'k',
      model: DEFAULT_AI_MODELS.anthropic,
    });
    expect(resolveAiProviderSettings({ name: 'openai', apiKey: 'k', model: '' }).model).toBe('gpt-4o-mini');
    expect(resolveAiProviderSettings({ name: 'google', apiKey: 'k' }).model).toBe('gemini-2.5-flash');
    expect(() => resolveAiProviderSettings({ name: 'openai-compatible', baseUrl: 'http://x/v1' })).toThrow(
      expect.objectContaining({
        code: 'AI_NOT_CONFIGURED',
        message: expect.stringContaining('OPENAI_COMPATIBLE_MODEL'),
      }),
    );
  });

  it('latency comes from the injected clock: the winning attempt and the whole call', async () => {
    let t = 1_000;
    const now = () => {
      t += 10;
      return t;
    };
    fakes.anthropic.script({ kind: 'status', status: 500 });
    fakes.openai.script({ kind: 'answer', chunks: ['x'] });
    const c = new AiProviderChain([settings('anthropic'), settings('openai')], {
      timeoutMs: 5_000,
      maxOutputTokens: 10,
      now,
    });
    const answer = await c.complete(CONVERSATION);
    // Clock reads: call start, attempt 1 start/end, attempt 2 start/end, call end.
    expect(answer.attempts[0]!.latencyMs).toBe(10);
    expect(answer.latencyMs).toBe(10);
    expect(answer.totalLatencyMs).toBe(50);
  });

  it('complete() returns the whole answer without a listener', async () => {
    fakes['openai-compatible'].script({ kind: 'answer', chunks: ['{"flagged":', 'false}'], outputTokens: 4 });
    const answer = await chain(['openai-compatible']).complete({
      system: 'Classify.',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(answer.text).toBe('{"flagged":false}');
    expect(answer.outputTokens).toBe(4);
  });

  it('an exception thrown by the event listener propagates and is not mistaken for a provider failure', async () => {
    fakes.anthropic.script({ kind: 'answer', chunks: ['a', 'b'] });
    fakes.openai.script({ kind: 'answer', chunks: ['c'] });
    const boom = new Error('socket gone');
    await expect(
      chain(['anthropic', 'openai']).stream(CONVERSATION, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(fakes.openai.requests).toHaveLength(0);
  });

  it('parseRetryAfter handles seconds, HTTP dates, retry-after-ms and garbage', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': '3' }, now)).toBe(3_000);
    expect(parseRetryAfter({ 'Retry-After': '0.5' }, now)).toBe(500);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 01 Jan 2025 00:00:20 GMT' }, now)).toBe(20_000);
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toBe(250);
    expect(parseRetryAfter({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(parseRetryAfter({}, now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
