import type { Bus } from '../bus/bus.js';
import type { Metrics } from '../metrics/metrics.js';
import { type Job, JobAbortedError } from '../queue/job-queue.js';
import type { RoomRow } from '../store/database.js';
import type { Store } from '../store/store.js';
import type { AiRepository } from './ai.repository.js';
import type { AiSessions } from './ai-sessions.js';
import type { AiUsage } from './ai-usage.js';
import { type BotIdentity, type BotPoster, clientMsgIdOf } from './bot-user.js';
import { ChatContext } from './chat-context.js';
import {
  buildAskPrompt,
  buildSummaryPrompt,
  buildTranslatePrompt,
  type ContextUse,
  type Persona,
  type Prompt,
} from './prompts.js';
import { AiError, isAiError } from './providers/ai-errors.js';
import type { AiAnswer, AiProviderChain } from './providers/ai-provider-chain.js';
import { StreamPublisher } from './stream-publisher.js';

export type AnswerKind = 'ask' | 'summarize' | 'translate';

/** The queue's name for assistant answers. */
export const AI_QUEUE = 'ai';

/** Data of an answer job (JSON in the queue). */
export interface AnswerJob {
  kind: AnswerKind;
  roomId: string;
  userId: string;
  /** Display name of the asker, as the model addresses them. */
  userName: string;
  triggerMessageId: string;
  triggerSeq: number;
  /** The message the trigger replies to (thread context, or what `/translate` translates). */
  replyTo: string | null;
  /** ask: the question; translate: the text (null: the replied-to message). */
  text: string | null;
  /** translate. */
  language?: string;
  /** summarize: how many messages, and whether only those since the sender last wrote. */
  count?: number;
  unread?: boolean;
  /** Runs allowed (the job's `attempts`), so the last one answers with an error instead of retrying. */
  maxAttempts: number;
  /**
   * Messages at or below this seq are not context: the room's conversation session started after
   * it (a bridged conversation's 24 h session, see src/bridges).
   */
  contextAfterSeq?: number;
}

export interface AnswerRunnerOptions {
  contextTokens: number;
  /** Latest room messages read for an answer's context (the budget then cuts). */
  contextMessages: number;
  streamIntervalMs: number;
  systemPrompt?: string | undefined;
}

export interface AnswerRunnerDeps {
  store: Store;
  bus: Bus;
  chain: AiProviderChain;
  repo: AiRepository;
  sessions: AiSessions;
  usage: AiUsage;
  poster: BotPoster;
  metrics: Metrics;
  bot: () => BotIdentity;
  now: () => number;
}

/** A prompt, or a notice to post instead when there is nothing to send (no messages, message gone). */
type Prepared = { prompt: Prompt; use?: ContextUse } | { notice: string };

/**
 * Runs one answer job: builds the context, streams the provider chain's deltas to the room as
 * `ai_stream` frames, commits the `ai_response` message (idempotent by job id), and records usage
 * and the session. Cancellation (`/stop`, a newer trigger) aborts the job's signal, which the chain
 * passes to the HTTP request; a cancelled answer commits nothing.
 */
export class AnswerRunner {
  private readonly context: ChatContext;

  constructor(
    private readonly d: AnswerRunnerDeps,
    private readonly opts: AnswerRunnerOptions,
  ) {
    this.context = new ChatContext(d.store.repos);
  }

  async run(job: Job<AnswerJob>, signal: AbortSignal): Promise<void> {
    const data = job.data;
    const request = await this.d.repo.findRequest(job.id);
    if (!request || request.status === 'cancelled') return;
    // A retry after the answer was committed (the worker died right after): nothing left to do.
    const done = await this.d.store.repos.messages.findByClientIds(this.d.bot().userId, [
      clientMsgIdOf(job.id),
    ]);
    if (done.length > 0) {
      await this.d.repo.setRequestStatus(job.id, 'done', this.d.now());
      return;
    }
    const room = await this.d.store.repos.rooms.findById(data.roomId);
    if (!room) {
      await this.d.repo.setRequestStatus(job.id, 'failed', this.d.now());
      return;
    }
    // False when /stop got there first.
    if (!(await this.d.repo.setRequestStatus(job.id, 'running', this.d.now()))) return;

    const prepared = await this.prepare(data, room);
    if ('notice' in prepared) {
      await this.d.poster.notice(data.roomId, data.triggerMessageId, job.id, prepared.notice, 'empty');
      await this.d.repo.setRequestStatus(job.id, 'done', this.d.now());
      return;
    }
    const stream = new StreamPublisher(
      this.d.bus,
      { roomId: data.roomId, streamId: job.id, replyTo: data.triggerMessageId },
      this.opts.streamIntervalMs,
    );
    stream.start(job.attempt > 1);
    this.d.metrics.aiActive.inc();
    const started = performance.now();
    try {
      const answer = await this.d.chain.stream({ ...prepared.prompt, signal }, (e) =>
        e.type === 'delta' ? stream.delta(e.text) : stream.reset(),
      );
      if (signal.aborted) throw signal.reason;
      await this.commit(job, answer, prepared.use, stream);
    } catch (err) {
      await this.failed(job, err, signal, stream, performance.now() - started);
    } finally {
      this.d.metrics.aiActive.dec();
      stream.abandon();
    }
  }

  private async commit(
    job: Job<AnswerJob>,
    answer: AiAnswer,
    use: ContextUse | undefined,
    stream: StreamPublisher,
  ): Promise<void> {
    const data = job.data;
    // The session first: once the answer is visible the user may ask again, and that question must
    // see this turn. A retry after this point records the same turn again, which replaces it.
    const tokens = answer.inputTokens + answer.outputTokens;
    if (data.kind === 'ask') {
      await this.d.sessions.record(data.userId, data.roomId, {
        turn: { q: data.text?.trim() || '(no question)', a: answer.text, messageId: data.triggerMessageId },
        tokens,
      });
    } else if (data.kind === 'summarize') {
      await this.d.sessions.record(data.userId, data.roomId, { summary: answer.text, tokens });
    } else {
      await this.d.sessions.record(data.userId, data.roomId, { tokens });
    }
    const { message } = await this.d.poster.answer(data.roomId, data.triggerMessageId, job.id, answer.text, {
      kind: data.kind,
      streamId: job.id,
      provider: answer.provider,
      model: answer.model,
      inputTokens: answer.inputTokens,
      outputTokens: answer.outputTokens,
      latencyMs: Math.round(answer.latencyMs),
      ...(use ? { context: { recent: use.recent, thread: use.thread, turns: use.turns } } : {}),
    });
    stream.finish('answered', message.messageId);
    await this.d.repo.setRequestStatus(job.id, 'done', this.d.now());
    await this.d.usage.answered(
      data.kind,
      { jobId: job.id, roomId: data.roomId, userId: data.userId },
      answer,
    );
  }

  /** Decides what a failed run means: stopped, retried later, or answered with an error notice. */
  private async failed(
    job: Job<AnswerJob>,
    err: unknown,
    signal: AbortSignal,
    stream: StreamPublisher,
    latencyMs: number,
  ): Promise<void> {
    const data = job.data;
    const usageCtx = { jobId: job.id, roomId: data.roomId, userId: data.userId };
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason instanceof JobAbortedError && reason.kind === 'cancelled') {
      stream.finish('stopped');
      await this.d.repo.setRequestStatus(job.id, 'cancelled', this.d.now());
      await this.d.usage.failed(data.kind, usageCtx, new AiError('AI_CANCELLED', 'stopped'), latencyMs);
      return;
    }
    if (reason instanceof JobAbortedError && reason.kind !== 'timeout') {
      // The worker stops or lost the job's lease: another run takes over, starting with a reset.
      throw reason;
    }
    const aiErr = isAiError(err) && err.code !== 'AI_CANCELLED' ? err : undefined;
    if (aiErr) await this.d.usage.failed(data.kind, usageCtx, aiErr, latencyMs);
    if (job.attempt < data.maxAttempts) {
      stream.abandon(true);
      throw err;
    }
    stream.finish('failed');
    const code = reason instanceof JobAbortedError ? 'AI_TIMEOUT' : (aiErr?.code ?? 'INTERNAL');
    const attempts = aiErr?.attempts.map((a) => ({ provider: a.provider, code: a.code })) ?? [];
    const why =
      attempts.length > 0
        ? ` (${attempts.map((a) => `${a.provider}: ${describeCode(a.code)}`).join('; ')})`
        : '';
    await this.d.poster.notice(
      data.roomId,
      data.triggerMessageId,
      job.id,
      `Sorry, I could not answer${why}. Please try again later.`,
      'failed',
      { code, attempts },
    );
    await this.d.repo.setRequestStatus(job.id, 'failed', this.d.now());
    if (!aiErr) throw err; // not a provider failure: keep the error with the failed job
  }

  private async prepare(data: AnswerJob, room: RoomRow): Promise<Prepared> {
    const persona: Persona = {
      botName: this.d.bot().displayName,
      ...(room.type !== 'direct' && room.name ? { roomName: room.name } : {}),
      ...(this.opts.systemPrompt ? { extra: this.opts.systemPrompt } : {}),
    };
    const budget = this.opts.contextTokens;
    switch (data.kind) {
      case 'ask': {
        const [thread, recent, session] = await Promise.all([
          this.context.thread(data.roomId, data.replyTo),
          this.context.recent(data.roomId, data.triggerSeq, this.opts.contextMessages, data.contextAfterSeq),
          this.d.sessions.find(data.userId, data.roomId),
        ]);
        const built = buildAskPrompt({
          persona,
          asker: data.userName,
          question: data.text ?? '',
          thread,
          recent,
          session,
          budget,
        });
        return { prompt: built, use: built.use };
      }
      case 'summarize': {
        const since = floorOf(
          data.unread
            ? await this.d.repo.lastMessageSeqBy(data.roomId, data.userId, data.triggerSeq)
            : undefined,
          data.contextAfterSeq,
        );
        const count = data.count ?? 50;
        // Read a few more: earlier commands are left out, and should not count.
        const read = await this.context.recent(data.roomId, data.triggerSeq, count + 20, since);
        const lines = read.filter((l) => !isCommand(l.content)).slice(-count);
        const built = buildSummaryPrompt({
          persona,
          requester: data.userName,
          lines,
          unread: data.unread === true,
          budget,
        });
        if (!built) return { notice: 'There is nothing to summarize yet.' };
        return { prompt: built, use: built.use };
      }
      case 'translate': {
        let text = data.text;
        if (text === null && data.replyTo)
          text = (await this.context.message(data.roomId, data.replyTo))?.content ?? null;
        if (!text) return { notice: 'The message to translate is gone (deleted, or not in this room).' };
        return { prompt: buildTranslatePrompt({ persona, language: data.language ?? 'English', text }) };
      }
    }
  }
}

/** Earlier `/summarize` or `/ai` commands are noise in a summary. */
function isCommand(content: string): boolean {
  return /^\/(summari[sz]e|stop|translate)\b/i.test(content);
}

function describeCode(code: string): string {
  switch (code) {
    case 'AI_TIMEOUT':
      return 'timed out';
    case 'AI_RATE_LIMITED':
      return 'rate limited';
    default:
      return 'error';
  }
}

/** The higher of two optional seq floors. */
function floorOf(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.max(a, b);
}
