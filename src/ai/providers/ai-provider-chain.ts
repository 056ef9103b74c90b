import { APICallError, RetryError, streamText, type TextStreamPart, type ToolSet } from 'ai';
import { type AiAttempt, AiError, type AiErrorCode } from './ai-errors.js';
import { type AiLanguageModel, type AiProviderSettings, createLanguageModel } from './provider-config.js';

export interface AiChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface AiRequest {
  system: string;
  messages: AiChatMessage[];
  /** Aborting it cancels the in-flight HTTP request and rejects with `AI_CANCELLED` (no fallback). */
  signal?: AbortSignal;
  /** Overrides the chain's default for this request. */
  maxOutputTokens?: number;
}

export type AiStreamEvent =
  | { type: 'delta'; text: string }
  /** The provider that streamed the deltas so far failed: drop the partial text, another provider follows. */
  | { type: 'reset'; provider: string; reason: string };

export interface AiAnswer {
  text: string;
  /** Provider that produced the answer. */
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Duration of the successful attempt (request sent → stream finished). */
  latencyMs: number;
  /** Wall time of the whole call, failed attempts included. */
  totalLatencyMs: number;
  /** Failed attempts before the successful one, in order. */
  attempts: AiAttempt[];
}

export interface AiProviderChainOptions {
  /** Per attempt: a provider that has not finished its answer within this time is abandoned (`AI_TIMEOUT`). */
  timeoutMs: number;
  maxOutputTokens: number;
  /** Clock for latency accounting (ms). Default `performance.now`. */
  now?: () => number;
}

interface ChainEntry {
  settings: AiProviderSettings;
  model: AiLanguageModel;
}

type AttemptOutcome =
  | { ok: true; text: string; inputTokens: number; outputTokens: number; latencyMs: number }
  | { ok: false; attempt: AiAttempt };

/** Marks "the caller's signal fired" while racing the SDK stream. */
const CANCELLED = Symbol('cancelled');
/** Marks "this attempt ran out of time" while racing the SDK stream. */
const TIMED_OUT = Symbol('timed-out');

/**
 * Asks the configured providers in order until one answers. A provider failing before or while it
 * streams (HTTP error, 429, network error, disconnect, timeout) is recorded in `attempts` and the next
 * one is asked; if it had already streamed deltas, a `reset` event tells the consumer to drop them.
 * The SDK's own retries are off (`maxRetries: 0`): the fallback is the retry, and the job queue retries
 * the whole job.
 */
export class AiProviderChain {
  private readonly entries: ChainEntry[];
  private readonly now: () => number;

  constructor(
    providers: AiProviderSettings[],
    private readonly opts: AiProviderChainOptions,
  ) {
    // Built eagerly so a misconfigured provider fails at startup (AI_NOT_CONFIGURED), not on the first answer.
    this.entries = providers.map((settings) => ({ settings, model: createLanguageModel(settings) }));
    this.now = opts.now ?? (() => performance.now());
  }

  /** Provider names in fallback order. */
  get providers(): string[] {
    return this.entries.map((e) => e.settings.name);
  }

  async stream(req: AiRequest, onEvent: (e: AiStreamEvent) => void): Promise<AiAnswer> {
    if (this.entries.length === 0) {
      throw new AiError('AI_NOT_CONFIGURED', 'No AI provider is configured');
    }
    const started = this.now();
    const attempts: AiAttempt[] = [];
    for (const entry of this.entries) {
      if (req.signal?.aborted) throw cancelledError(req.signal);
      const outcome = await this.attempt(entry, req, onEvent);
      if (outcome.ok) {
        return {
          text: outcome.text,
          provider: entry.settings.name,
          model: entry.settings.model,
          inputTokens: outcome.inputTokens,
          outputTokens: outcome.outputTokens,
          latencyMs: outcome.latencyMs,
          totalLatencyMs: this.now() - started,
          attempts,
        };
      }
      attempts.push(outcome.attempt);
    }
    const hints = attempts.map((a) => a.retryAfterMs).filter((ms): ms is number => ms !== undefined);
    throw new AiError(
      'AI_UNAVAILABLE',
      `All AI providers failed: ${attempts.map((a) => `${a.provider}: ${a.error}`).join('; ')}`,
      { attempts, ...(hints.length > 0 ? { retryAfterMs: Math.min(...hints) } : {}) },
    );
  }

  /** Non-streaming convenience (moderation, classification): the whole answer, deltas ignored. */
  complete(req: AiRequest): Promise<AiAnswer> {
    return this.stream(req, () => {});
  }

  private async attempt(
    entry: ChainEntry,
    req: AiRequest,
    onEvent: (e: AiStreamEvent) => void,
  ): Promise<AttemptOutcome> {
    const { name, model } = entry.settings;
    const started = this.now();
    // One controller per attempt: fired by the timeout, by the caller's signal, or by us once the attempt
    // is over. It is what the SDK hands to `fetch`, so firing it closes the HTTP connection.
    const attemptAbort = new AbortController();
    let stopReason: typeof CANCELLED | typeof TIMED_OUT | undefined;
    let wake: (reason: typeof CANCELLED | typeof TIMED_OUT) => void = () => {};
    const stopped = new Promise<typeof CANCELLED | typeof TIMED_OUT>((resolve) => {
      wake = resolve;
    });
    const stop = (reason: typeof CANCELLED | typeof TIMED_OUT) => {
      if (stopReason) return;
      stopReason = reason;
      wake(reason);
      attemptAbort.abort(
        reason === CANCELLED
          ? req.signal?.reason
          : new AiError('AI_TIMEOUT', `${name} did not answer within ${this.opts.timeoutMs} ms`),
      );
    };
    const onCallerAbort = () => stop(CANCELLED);
    req.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const timer = setTimeout(() => stop(TIMED_OUT), this.opts.timeoutMs);

    let text = '';
    let emitted = false;
    let failure: unknown;
    let finish: Extract<TextStreamPart<ToolSet>, { type: 'finish' }> | undefined;
    let consumerError: { error: unknown } | undefined;
    let iterator: AsyncIterator<TextStreamPart<ToolSet>> | undefined;
    try {
      const result = streamText({
        model: entry.model,
        system: req.system,
        messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
        maxOutputTokens: req.maxOutputTokens ?? this.opts.maxOutputTokens,
        maxRetries: 0,
        abortSignal: attemptAbort.signal,
        // streamText never throws: failures arrive as `error` parts of fullStream (handled below). Without
        // this no-op the SDK's default onError would console.error every failed attempt.
        onError: () => {},
      });
      iterator = result.fullStream[Symbol.asyncIterator]();
      for (;;) {
        // Race every read against cancel/timeout so neither waits for the SDK to notice the abort.
        const next = await Promise.race([iterator.next(), stopped]);
        if (typeof next === 'symbol' || next.done) break;
        const part = next.value;
        if (part.type === 'text-delta') {
          if (part.text.length === 0) continue;
          text += part.text;
          emitted = true;
          try {
            onEvent({ type: 'delta', text: part.text });
          } catch (error) {
            consumerError = { error };
            break;
          }
        } else if (part.type === 'error') {
          failure = part.error;
          break;
        } else if (part.type === 'abort') {
          // Only our controller feeds the SDK's signal, so stopReason is set; kept as a safeguard.
          failure = new Error(`request aborted${part.reason ? `: ${part.reason}` : ''}`);
          break;
        } else if (part.type === 'finish') {
          finish = part;
        }
      }
    } catch (err) {
      failure = err;
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onCallerAbort);
      // Whatever happened, nothing more is read from this attempt: make sure its connection is closed.
      if (!attemptAbort.signal.aborted) attemptAbort.abort();
      iterator?.return?.().catch(() => {});
    }
    const latencyMs = this.now() - started;

    if (consumerError) throw consumerError.error;
    if (stopReason === CANCELLED || req.signal?.aborted) throw cancelledError(req.signal);

    if (stopReason === TIMED_OUT) {
      failure = new AiError('AI_TIMEOUT', `no complete answer within ${this.opts.timeoutMs} ms`);
    } else if (failure === undefined) {
      if (!finish) {
        failure = new Error('stream ended without a finish event');
      } else if (finish.finishReason === 'error') {
        failure = new Error('provider reported finish reason "error"');
      } else if (finish.finishReason === 'other' && finish.rawFinishReason === undefined) {
        // Every provider's stream ends with an explicit stop reason (Anthropic message_delta, OpenAI
        // response.completed / finish_reason, Gemini finishReason). Without one the connection was cut
        // at an event boundary and the text is partial.
        failure = new Error('stream ended before the provider signalled completion (truncated answer)');
      }
    }

    if (failure === undefined && finish) {
      return {
        ok: true,
        text,
        inputTokens: finish.totalUsage.inputTokens ?? 0,
        outputTokens: finish.totalUsage.outputTokens ?? 0,
        latencyMs,
      };
    }

    const attempt = describeFailure(name, model, failure, latencyMs);
    if (emitted) onEvent({ type: 'reset', provider: name, reason: attempt.error });
    return { ok: false, attempt };
  }
}

function cancelledError(signal: AbortSignal | undefined): AiError {
  return new AiError('AI_CANCELLED', 'AI request cancelled', { cause: signal?.reason });
}

function describeFailure(provider: string, model: string, failure: unknown, latencyMs: number): AiAttempt {
  const err = unwrap(failure);
  let code: AiErrorCode = 'AI_PROVIDER_ERROR';
  let status: number | undefined;
  let retryAfterMs: number | undefined;
  let message: string;
  if (err instanceof AiError) {
    code = err.code;
    message = err.message;
  } else if (APICallError.isInstance(err)) {
    // `isInstance`, not `instanceof`: each @ai-sdk package may bring its own copy of @ai-sdk/provider.
    if (err.statusCode !== undefined && err.statusCode >= 200 && err.statusCode < 300) {
      // The SDK reports a stream that broke after a 200 as "Failed to process successful response"
      // with statusCode 200; the useful part is the cause (undici's "terminated", a parse error...).
      message = `stream interrupted: ${describe(err.cause ?? err)}`;
    } else {
      status = err.statusCode;
      message = status !== undefined ? `HTTP ${status}: ${err.message}` : err.message;
      if (status === 429) {
        code = 'AI_RATE_LIMITED';
        retryAfterMs = parseRetryAfter(err.responseHeaders);
      }
    }
  } else {
    // In-stream error events arrive as plain objects, e.g. Anthropic's `{ type: 'rate_limit_error', message }`
    // or OpenAI's `{ message, type, code, statusCode }`.
    const fields = isRecord(err) ? err : {};
    if (typeof fields['statusCode'] === 'number' && fields['statusCode'] >= 400)
      status = fields['statusCode'];
    if (status === 429 || isRateLimitName(fields['type']) || isRateLimitName(fields['code']))
      code = 'AI_RATE_LIMITED';
    message = describe(err);
  }
  return {
    provider,
    model,
    error: message,
    code,
    ...(status !== undefined ? { status } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    latencyMs,
  };
}

/** With `maxRetries: 0` the SDK throws the original error, but unwrap a RetryError should one appear. */
function unwrap(err: unknown): unknown {
  return RetryError.isInstance(err) ? err.lastError : err;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isRateLimitName(value: unknown): boolean {
  return value === 'rate_limit_error' || value === 'rate_limit_exceeded' || value === 'RESOURCE_EXHAUSTED';
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  if (isRecord(err) && typeof err['message'] === 'string') {
    const kind = [err['type'], err['code']].find((k) => typeof k === 'string' && k !== 'error');
    return kind ? `${String(kind)}: ${err['message']}` : err['message'];
  }
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** `retry-after-ms` (OpenAI) wins over `retry-after` (seconds or an HTTP date). */
export function parseRetryAfter(
  headers: Record<string, string> | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const get = (name: string) => {
    for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
    return undefined;
  };
  const ms = get('retry-after-ms');
  if (ms !== undefined && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  }
  const after = get('retry-after');
  if (after === undefined || after.trim() === '') return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
