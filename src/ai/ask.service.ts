import type { Principal } from '../auth/principal.js';
import { Errors } from '../errors/errors.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';
import { readSettings } from '../rooms/room-model.js';
import type { RoomsService } from '../rooms/rooms.service.js';
import type { Store } from '../store/store.js';
import type { AiSessions } from './ai-sessions.js';
import type { AiUsage } from './ai-usage.js';
import type { BotIdentity } from './bot-user.js';
import { ChatContext } from './chat-context.js';
import { buildAskPrompt } from './prompts.js';
import { isAiError } from './providers/ai-errors.js';
import type { AiProviderChain } from './providers/ai-provider-chain.js';

/** Seed 004's request: `{question, context?, roomId?}`. */
export interface AskInput {
  question: string;
  /** Extra context from the client, sent with the question (at most half the token budget). */
  context?: string;
  /** Use this room's recent messages and the caller's session there; needs membership and enableAI. */
  roomId?: string;
}

export interface AskResult {
  response: string;
  /** Ms from the call to the answer, all provider attempts included. */
  responseTime: number;
  provider: string;
  model: string;
  tokens: { input: number; output: number; total: number };
  /** Providers that failed before this one answered. */
  fallbacks: { provider: string; code: string }[];
  timestamp: string;
}

export interface AskDeps {
  store: Store;
  rooms: RoomsService;
  chain: AiProviderChain | undefined;
  sessions: AiSessions;
  usage: AiUsage;
  limits: { user: RateLimiter; room: RateLimiter };
  bot: () => BotIdentity;
  isBotDm: (roomId: string) => Promise<boolean>;
  /** Jobs waiting in the AI queue. */
  waiting: () => Promise<number>;
  opts: {
    contextTokens: number;
    contextMessages: number;
    queueMax: number;
    systemPrompt?: string | undefined;
  };
}

/**
 * `POST /v1/chat/ai/ask`: a question answered in the request (the caller waits for it, so no queue
 * hop), under the same rate limits and busy bound as chat triggers. With `roomId` the room's recent
 * messages and the caller's session in that room are the context; without, the caller's personal
 * session (room '').
 */
export class AskService {
  /** Calls in flight on this node; they count against AI_QUEUE_MAX together with waiting jobs. */
  private inFlight = 0;

  constructor(private readonly d: AskDeps) {}

  async ask(p: Principal, input: AskInput, signal?: AbortSignal): Promise<AskResult> {
    const started = performance.now();
    const roomId = input.roomId;
    let roomName: string | undefined;
    if (roomId !== undefined) {
      await this.d.rooms.requireMembership(p, roomId);
      const room = (await this.d.store.repos.rooms.findById(roomId))!;
      if (!readSettings(room.settings).enableAI && !(await this.d.isBotDm(roomId))) {
        throw Errors.aiDisabled('The AI assistant is not enabled in this room (settings.enableAI)');
      }
      if (room.type !== 'direct' && room.name) roomName = room.name;
    }
    await this.consume(this.d.limits.user, p.userId, 'AI requests');
    if (roomId !== undefined) await this.consume(this.d.limits.room, roomId, 'AI requests in this room');
    const chain = this.d.chain;
    if (!chain) {
      this.d.usage.rejected('not_configured');
      throw Errors.aiNotConfigured('AI is not configured on this server (AI_PROVIDERS is empty)');
    }
    if (this.inFlight + (await this.d.waiting()) >= Math.max(1, this.d.opts.queueMax)) {
      this.d.usage.rejected('busy');
      throw Errors.aiBusy(undefined, { retryAfterMs: 30_000 });
    }

    this.inFlight++;
    try {
      const context = new ChatContext(this.d.store.repos);
      const [recent, session] = await Promise.all([
        roomId !== undefined
          ? context.recent(roomId, Number.MAX_SAFE_INTEGER, this.d.opts.contextMessages)
          : Promise.resolve([]),
        this.d.sessions.find(p.userId, roomId ?? ''),
      ]);
      const prompt = buildAskPrompt({
        persona: {
          botName: this.d.bot().displayName,
          ...(roomName ? { roomName } : {}),
          ...(this.d.opts.systemPrompt ? { extra: this.d.opts.systemPrompt } : {}),
        },
        asker: p.username,
        question: input.question,
        thread: [],
        recent,
        session,
        extraContext: input.context,
        budget: this.d.opts.contextTokens,
      });
      const usageCtx = { roomId: roomId ?? null, userId: p.userId };
      let answer: Awaited<ReturnType<AiProviderChain['complete']>>;
      try {
        answer = await chain.complete({
          system: prompt.system,
          messages: prompt.messages,
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (!isAiError(err)) throw err;
        await this.d.usage.failed('api', usageCtx, err, performance.now() - started);
        if (err.code === 'AI_NOT_CONFIGURED') throw Errors.aiNotConfigured(err.message);
        throw Errors.aiUnavailable(
          err.code === 'AI_CANCELLED'
            ? 'The request was cancelled'
            : 'No AI provider could answer; try again later',
          {
            attempts: err.attempts.map((a) => ({
              provider: a.provider,
              code: a.code,
              status: a.status ?? null,
            })),
            ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
          },
        );
      }
      await this.d.usage.answered('api', usageCtx, answer);
      await this.d.sessions.record(p.userId, roomId ?? '', {
        turn: { q: input.question, a: answer.text },
        tokens: answer.inputTokens + answer.outputTokens,
      });
      return {
        response: answer.text,
        responseTime: Math.round(performance.now() - started),
        provider: answer.provider,
        model: answer.model,
        tokens: {
          input: answer.inputTokens,
          output: answer.outputTokens,
          total: answer.inputTokens + answer.outputTokens,
        },
        fallbacks: answer.attempts.map((a) => ({ provider: a.provider, code: a.code })),
        timestamp: new Date().toISOString(),
      };
    } finally {
      this.inFlight--;
    }
  }

  private async consume(limiter: RateLimiter, key: string, what: string): Promise<void> {
    const wait = await limiter.consume(key);
    if (wait > 0) {
      throw Errors.rateLimited(`Too many ${what}; retry in ${Math.ceil(wait / 1000)}s`, {
        retryAfterMs: wait,
      });
    }
  }
}
