import type { Principal } from '../auth/principal.js';
import type { Bus, BusMessage } from '../bus/bus.js';
import type { RoomEvent } from '../events/room-event.js';
import type { MessageView } from '../messages/message-model.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Job, JobQueue, JobWorker, Priority } from '../queue/job-queue.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';
import { atLeast, readSettings } from '../rooms/room-model.js';
import type { RoomsService } from '../rooms/rooms.service.js';
import type { Store } from '../store/store.js';
import type { UsersService } from '../users/users.service.js';
import type { AiRepository } from './ai.repository.js';
import { AiSessions } from './ai-sessions.js';
import type { AiUsage, UsageReport } from './ai-usage.js';
import { AI_QUEUE, type AnswerJob, AnswerRunner } from './answer-runner.js';
import { type AskInput, type AskResult, AskService } from './ask.service.js';
import { type BotIdentity, BotPoster, ensureBotUser } from './bot-user.js';
import type { AiProviderChain } from './providers/ai-provider-chain.js';
import { mayTrigger, parseTrigger, type Trigger } from './triggers.js';

export interface AssistantOptions {
  botUsername: string;
  botName: string;
  /** AI_SYSTEM_PROMPT. */
  systemPrompt?: string | undefined;
  /** Token budget of an answer's context (characters / 4). */
  contextTokens: number;
  /** Most jobs waiting in the AI queue; a trigger beyond it is answered "busy". */
  queueMax: number;
  /** Answers this node runs at once; 0 runs none here. */
  workerConcurrency: number;
  /** Runs of a job, the first included. */
  jobAttempts: number;
  /** Ms before the first retry (doubling after). */
  retryBackoffMs: number;
  /** Per provider attempt, ms. */
  responseTimeoutMs: number;
  /** Ms between two `ai_stream` frames of an answer. */
  streamIntervalMs: number;
  /** MAX_MESSAGE_LENGTH: answers are cut to fit. */
  maxMessageLength: number;
}

export interface AssistantDeps {
  store: Store;
  bus: Bus;
  queue: JobQueue;
  messages: MessagesService;
  rooms: RoomsService;
  users: UsersService;
  metrics: Metrics;
  repo: AiRepository;
  usage: AiUsage;
  /** Undefined when no provider is configured: triggers get a "not configured" notice. */
  chain: AiProviderChain | undefined;
  /** Per user and per room, per minute; `notice` limits "you are too fast" notices (1 per user+room per minute). */
  limits: { user: RateLimiter; room: RateLimiter; notice: RateLimiter };
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  now: () => number;
  /**
   * The seq after which a room's messages are context (a bridged conversation's 24 h session), or
   * undefined for the whole room. Set by app.ts once the bridges exist.
   */
  contextFloor?: (roomId: string) => Promise<number | undefined>;
}

/** Room messages read for an answer's context before the token budget cuts. */
const CONTEXT_MESSAGES = 50;
/** How long a room's type/enableAI is cached for trigger detection, ms (room_updated clears it). */
const ROOM_CACHE_MS = 5000;
const SWEEP_EVERY_MS = 10 * 60 * 1000;
/** Ended requests are kept this long (ms) for `/stop` bookkeeping. */
const KEEP_REQUESTS_MS = 24 * 60 * 60 * 1000;

interface RoomInfo {
  type: string;
  enableAI: boolean;
  /** A direct conversation with the bot. */
  botDm: boolean;
  /** enableAI with aiAutoReply: every message is a question. */
  autoReply: boolean;
  at: number;
}

/**
 * The AI assistant as a participant: a bot user that watches committed messages for triggers
 * (mentions, `/ai`, `/summarize`, `/translate`, `/stop`, DMs to it), queues answer jobs with
 * priorities, retries and a timeout behind per-user and per-room rate limits and a queue bound, runs
 * them (AnswerRunner) and answers `POST /v1/chat/ai/ask` (AskService).
 */
export class AssistantService {
  readonly repo: AiRepository;
  readonly sessions: AiSessions;
  readonly usage: AiUsage;
  private readonly poster: BotPoster;
  private readonly runner: AnswerRunner | undefined;
  private readonly asker: AskService;
  private identity: BotIdentity | undefined;
  private worker: JobWorker | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly roomCache = new Map<string, RoomInfo>();
  private closed = false;

  constructor(
    private readonly d: AssistantDeps,
    private readonly opts: AssistantOptions,
  ) {
    this.repo = d.repo;
    this.usage = d.usage;
    this.sessions = new AiSessions(this.repo, d.now);
    this.poster = new BotPoster(d.messages, () => this.bot, opts.maxMessageLength);
    this.runner = d.chain
      ? new AnswerRunner(
          {
            store: d.store,
            bus: d.bus,
            chain: d.chain,
            repo: this.repo,
            sessions: this.sessions,
            usage: this.usage,
            poster: this.poster,
            metrics: d.metrics,
            bot: () => this.bot,
            now: d.now,
          },
          {
            contextTokens: opts.contextTokens,
            contextMessages: CONTEXT_MESSAGES,
            streamIntervalMs: opts.streamIntervalMs,
            systemPrompt: opts.systemPrompt,
          },
        )
      : undefined;
    this.asker = new AskService({
      store: d.store,
      rooms: d.rooms,
      chain: d.chain,
      sessions: this.sessions,
      usage: this.usage,
      limits: d.limits,
      bot: () => this.bot,
      isBotDm: (roomId) => this.roomInfo(roomId).then((r) => r?.botDm === true),
      waiting: () => this.waiting(),
      opts: { ...opts, contextMessages: CONTEXT_MESSAGES },
    });
  }

  /** Creates the bot user, starts watching messages and (with a provider) running answer jobs. */
  async start(): Promise<void> {
    this.identity = await ensureBotUser(
      this.d.store,
      { username: this.opts.botUsername, displayName: this.opts.botName, setting: 'AI_BOT_USERNAME' },
      this.d.now(),
    );
    this.d.messages.onSent((e) => this.onSent(e.message, e.authorId, e.aiPriority));
    this.unsubscribe = this.d.bus.subscribe((m) => this.onBus(m));
    if (this.runner && this.opts.workerConcurrency > 0) {
      const runner = this.runner;
      this.worker = this.d.queue.process<AnswerJob>(AI_QUEUE, (job, signal) => runner.run(job, signal), {
        concurrency: this.opts.workerConcurrency,
      });
    }
    this.sweepTimer = setInterval(() => void this.sweep().catch(() => {}), SWEEP_EVERY_MS);
    this.sweepTimer.unref();
  }

  get bot(): BotIdentity {
    if (!this.identity) throw new Error('AssistantService.start() has not run');
    return this.identity;
  }

  /** Whether a provider is configured. */
  get enabled(): boolean {
    return this.d.chain !== undefined;
  }

  status() {
    return {
      enabled: this.enabled,
      providers: this.d.chain?.providers ?? [],
      bot: { ...this.bot },
      mentions: this.mentionNames().map((n) => `@${n}`),
    };
  }

  /** `POST /v1/chat/ai/ask`. */
  ask(p: Principal, input: AskInput, signal?: AbortSignal): Promise<AskResult> {
    return this.asker.ask(p, input, signal);
  }

  /** Usage totals and recent answers, for server admins. */
  async usageReport(p: Principal, since: number, limit: number): Promise<UsageReport> {
    await this.d.users.requireServerAdmin(p.userId);
    return this.usage.report(since, limit);
  }

  /** Runs one answer job here (the queue's handler; exposed for tests of retries). */
  runJob(job: Job<AnswerJob>, signal: AbortSignal): Promise<void> {
    if (!this.runner) return Promise.resolve();
    return this.runner.run(job, signal);
  }

  /**
   * Cancels the user's queued and running answers in the room, on whichever node runs them (through
   * the job queue's cancel). Returns how many were cancelled.
   */
  async stop(roomId: string, userId: string): Promise<number> {
    let n = 0;
    for (const r of await this.repo.activeRequests(roomId, userId)) {
      await this.d.queue.cancel(AI_QUEUE, r.job_id).catch((err) => {
        this.d.logger.warn({ err, jobId: r.job_id }, 'AI job cancel failed');
      });
      if (await this.repo.setRequestStatus(r.job_id, 'cancelled', this.d.now())) n++;
    }
    return n;
  }

  /** Deletes expired sessions and old request bookkeeping. */
  async sweep(): Promise<{ sessions: number; requests: number }> {
    const sessions = await this.sessions.sweep();
    const requests = await this.repo.deleteEndedRequests(this.d.now() - KEEP_REQUESTS_MS);
    return { sessions, requests };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.unsubscribe?.();
    // Running answers go back to the queue (another node, or this one after a restart, retries them).
    await this.worker?.stop({ abandon: true });
  }

  // ---- triggers ----

  private mentionNames(): string[] {
    return [...new Set([this.bot.username, 'ai', 'assistant'])];
  }

  private async onSent(message: MessageView, authorId: string, priority?: Priority): Promise<void> {
    if (this.closed || authorId === this.identity?.userId) return;
    if (!['text', 'image', 'file', 'audio', 'video'].includes(message.type)) return;
    const info = await this.roomInfo(message.roomId);
    if (!info || !(info.botDm || info.enableAI)) return;
    const everyMessage = info.botDm || (info.autoReply && (await this.autoReplyTo(message.roomId, authorId)));
    if (!everyMessage && !mayTrigger(message.content)) return;
    const trigger = parseTrigger(message.content, {
      names: this.mentionNames(),
      direct: everyMessage,
      hasReply: message.replyTo !== null,
    });
    if (!trigger) return;
    await this.handle(message, authorId, info, trigger, priority);
  }

  /**
   * aiAutoReply answers members, not the room's staff (moderators and up): in a support room the
   * people answering customers should not get an AI answer to every line. Staff still mention @ai.
   * Without a provider it stays silent rather than posting "not configured" under every message.
   */
  private async autoReplyTo(roomId: string, authorId: string): Promise<boolean> {
    if (!this.d.chain) return false;
    const member = await this.d.store.repos.rooms.getMember(roomId, authorId);
    return member !== undefined && !atLeast(member.role, 'moderator');
  }

  private async handle(
    message: MessageView,
    userId: string,
    info: RoomInfo,
    t: Trigger,
    priority?: Priority,
  ): Promise<void> {
    const roomId = message.roomId;
    const jobId = jobIdFor(message.messageId);
    if (t.kind === 'stop') {
      await this.stop(roomId, userId);
      return;
    }
    if (!info.botDm) await this.ensureMember(roomId);
    if (t.kind === 'usage') {
      await this.poster.notice(roomId, message.messageId, jobId, t.help, 'usage');
      return;
    }
    const limited = await this.overLimit(roomId, userId);
    if (limited) {
      this.usage.rejected('rate_limited');
      // One notice per user and room per minute: a flood of triggers does not become a flood of notices.
      if ((await this.d.limits.notice.consume(`${roomId}:${userId}`)) === 0) {
        await this.poster.notice(roomId, message.messageId, jobId, limited.text, 'rate_limited', {
          code: 'RATE_LIMITED',
          retryAfterMs: limited.retryAfterMs,
        });
      }
      return;
    }
    if (!this.d.chain) {
      this.usage.rejected('not_configured');
      await this.poster.notice(
        roomId,
        message.messageId,
        jobId,
        'AI is not configured on this server. An administrator can set AI_PROVIDERS (see docs/ai.md).',
        'not_configured',
        { code: 'AI_NOT_CONFIGURED' },
      );
      return;
    }
    // A newer trigger from the same user replaces their answers still running in the room.
    await this.stop(roomId, userId);
    if ((await this.waiting()) >= this.opts.queueMax) {
      this.usage.rejected('busy');
      await this.poster.notice(
        roomId,
        message.messageId,
        jobId,
        'The assistant is busy right now; please try again in a minute.',
        'busy',
        { code: 'AI_BUSY' },
      );
      return;
    }
    await this.enqueue(message, userId, jobId, t, priority);
  }

  private async enqueue(
    message: MessageView,
    userId: string,
    jobId: string,
    t: Exclude<Trigger, { kind: 'stop' | 'usage' }>,
    requested?: Priority,
  ): Promise<void> {
    const floor = await this.d.contextFloor?.(message.roomId);
    const data: AnswerJob = {
      kind: t.kind,
      roomId: message.roomId,
      userId,
      userName: message.isAnonymous ? (message.anonymousName ?? 'Anonymous') : message.authorName,
      triggerMessageId: message.messageId,
      triggerSeq: message.seq,
      replyTo: message.replyTo,
      text: t.kind === 'ask' ? t.question : t.kind === 'translate' ? t.text : null,
      ...(t.kind === 'translate' ? { language: t.language } : {}),
      ...(t.kind === 'summarize' ? { count: t.count, unread: t.unread } : {}),
      maxAttempts: this.opts.jobAttempts,
      ...(floor !== undefined ? { contextAfterSeq: floor } : {}),
    };
    const now = this.d.now();
    await this.repo.insertRequest({
      job_id: jobId,
      room_id: message.roomId,
      user_id: userId,
      kind: t.kind,
      trigger_message_id: message.messageId,
      status: 'queued',
      created_at: now,
      updated_at: now,
    });
    // A bridge or POST /message may ask for a priority; otherwise summaries wait behind questions.
    const priority: Priority = requested ?? (t.kind === 'summarize' ? 'low' : 'normal');
    const providers = Math.max(1, this.d.chain?.providers.length ?? 1);
    await this.d.queue.add(AI_QUEUE, t.kind, data, {
      jobId,
      priority,
      attempts: this.opts.jobAttempts,
      backoffMs: this.opts.retryBackoffMs,
      // Every provider may use its whole timeout before the chain gives up; plus room to commit.
      timeoutMs: providers * this.opts.responseTimeoutMs + 30_000,
    });
  }

  private async overLimit(
    roomId: string,
    userId: string,
  ): Promise<{ text: string; retryAfterMs: number } | undefined> {
    const userWait = await this.d.limits.user.consume(userId);
    if (userWait > 0) {
      return {
        text: `You are asking the assistant too often; try again in ${Math.ceil(userWait / 1000)} s.`,
        retryAfterMs: userWait,
      };
    }
    const roomWait = await this.d.limits.room.consume(roomId);
    if (roomWait > 0) {
      return {
        text: `This room is asking the assistant too often; try again in ${Math.ceil(roomWait / 1000)} s.`,
        retryAfterMs: roomWait,
      };
    }
    return undefined;
  }

  private async waiting(): Promise<number> {
    return (await this.d.queue.counts(AI_QUEUE)).waiting;
  }

  // ---- rooms ----

  private async roomInfo(roomId: string): Promise<RoomInfo | undefined> {
    const cached = this.roomCache.get(roomId);
    const now = Date.now();
    if (cached && now - cached.at < ROOM_CACHE_MS) return cached;
    const room = await this.d.store.repos.rooms.findById(roomId);
    if (!room) return undefined;
    const settings = readSettings(room.settings);
    const info: RoomInfo = {
      type: room.type,
      enableAI: room.type !== 'direct' && settings.enableAI,
      autoReply: room.type !== 'direct' && settings.enableAI && settings.aiAutoReply,
      botDm: room.type === 'direct' && (room.dm_key?.split(':').includes(this.bot.userId) ?? false),
      at: now,
    };
    if (this.roomCache.size >= 10_000) this.roomCache.clear();
    this.roomCache.set(roomId, info);
    return info;
  }

  /** Rooms with enableAI have the bot as a member: added when the setting is seen on, or before its first answer. */
  private async ensureMember(roomId: string): Promise<void> {
    const botId = this.bot.userId;
    if (await this.d.store.repos.rooms.getMember(roomId, botId)) return;
    try {
      const events = await this.d.store.tx(async (r) => {
        const room = await r.rooms.findById(roomId);
        if (!room || room.type === 'direct' || (await r.rooms.getMember(roomId, botId))) return [];
        return this.d.rooms.addApproved(r, room, botId, botId, this.d.now());
      });
      if (events.length > 0) this.d.bus.publish(events);
    } catch (err) {
      // A full room, or another node added it at the same moment: the bot answers all the same.
      this.d.logger.warn({ err: (err as Error).message, roomId }, 'could not add the AI bot to the room');
    }
  }

  private onBus(m: BusMessage): void {
    if (m.kind !== 'event' || this.closed) return;
    const e = m.event as RoomEvent<'room_created'>;
    if (e.type !== 'room_created' && (e.type as string) !== 'room_updated') return;
    this.roomCache.delete(e.roomId);
    if (e.body.room.settings.enableAI && e.body.room.type !== 'direct' && this.identity) {
      void this.ensureMember(e.roomId);
    }
  }
}

/** One job per trigger message, so a repeated notification enqueues nothing twice. */
export function jobIdFor(messageId: string): string {
  return `ai_${messageId}`;
}
