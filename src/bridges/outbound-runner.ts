import { toMessageView } from '../messages/message-views.js';
import type { Job } from '../queue/job-queue.js';
import { parseJson } from '../shared/json.js';
import type { Store } from '../store/store.js';
import {
  type ConversationTarget,
  type OutboundMessage,
  type Platform,
  PlatformError,
  type PlatformSender,
} from './bridge-model.js';
import type { OutboundJob } from './bridge-outbox.js';
import type { BridgesRepository, ConversationRow } from './bridges.repository.js';

/** Longest platform-requested wait (`retry_after`) honoured inside a job, ms; longer ones use the queue's backoff. */
const MAX_INLINE_WAIT_MS = 30_000;

export interface OutboundCounters {
  sent(platform: string): void;
  failed(platform: string, retrying: boolean): void;
  skipped(platform: string): void;
}

/**
 * Sends one outbox row to its platform. Idempotent per row: a row that is no longer pending (a
 * redelivered job) does nothing. Permanent platform errors (bad chat, revoked token) end the job;
 * others are thrown so the queue retries with backoff, and the last attempt marks the row failed.
 */
export class OutboundRunner {
  constructor(
    private readonly store: Store,
    private readonly repo: BridgesRepository,
    private readonly senders: Partial<Record<Platform, PlatformSender>>,
    private readonly counters: OutboundCounters,
    private readonly logger: { warn(obj: object, msg: string): void },
    private readonly now: () => number,
    private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void> = abortableSleep,
  ) {}

  async run(job: Job<OutboundJob>, signal: AbortSignal, maxAttempts: number): Promise<void> {
    const row = await this.repo.findOutbox(job.data.outboxId);
    if (row?.status !== 'pending') return;
    const conv = await this.repo.findConversationById(row.conversation_id);
    const finish = (status: string, lastError: string | null) =>
      this.repo.finishOutbox(row.id, { status, attempts: job.attempt, lastError }, this.now());
    if (!conv) return finish('skipped', 'conversation unlinked');
    const sender = this.senders[conv.platform as Platform];
    if (!sender) {
      this.counters.skipped(conv.platform);
      return finish('skipped', `the ${conv.platform} bridge is not configured`);
    }
    const msg = await this.outboundMessage(conv, row.message_id);
    if (!msg) {
      this.counters.skipped(conv.platform);
      return finish('skipped', 'message deleted before it went out');
    }
    try {
      const out = await sender.send(target(conv), msg, signal);
      if (out.skipped) {
        this.counters.skipped(conv.platform);
        return finish('skipped', out.skipped);
      }
      const now = this.now();
      for (const id of out.externalIds) await this.repo.recordMessage(conv.id, id, msg.messageId, now);
      if (out.usedReplyToken && conv.reply_token) await this.repo.clearReplyToken(conv.id, conv.reply_token);
      this.counters.sent(conv.platform);
      await finish('sent', null);
    } catch (err) {
      if (signal.aborted) throw err;
      const e = err instanceof PlatformError ? err : new PlatformError((err as Error).message, true);
      const last = !e.retryable || job.attempt >= maxAttempts;
      this.counters.failed(conv.platform, !last);
      this.logger.warn(
        { platform: conv.platform, conversationId: conv.id, attempt: job.attempt, err: e.message },
        last ? 'bridge message could not be delivered' : 'bridge message delivery failed; retrying',
      );
      if (last) return finish('failed', e.message);
      await this.repo.finishOutbox(
        row.id,
        { status: 'pending', attempts: job.attempt, lastError: e.message },
        this.now(),
      );
      // A platform that says how long to wait is believed, within reason.
      if (e.retryAfterMs !== undefined && e.retryAfterMs <= MAX_INLINE_WAIT_MS)
        await this.sleep(e.retryAfterMs, signal);
      throw e;
    }
  }

  /** The message as the platform gets it, or undefined if it was deleted meanwhile. */
  private async outboundMessage(
    conv: ConversationRow,
    messageId: string,
  ): Promise<OutboundMessage | undefined> {
    const m = await this.store.repos.messages.withAuthor(messageId);
    if (!m || m.deleted_at !== null) return undefined;
    const author = await this.store.repos.users.findById(m.author_id);
    const view = toMessageView(m, { name: m.author_name, avatar: m.author_avatar });
    const person = author?.is_bot !== 1;
    const authorName = !person
      ? null
      : m.is_anonymous === 1
        ? (m.anonymous_name ?? 'Anonymous')
        : view.authorName;
    let replyToExternalId: string | undefined;
    let threadExternalId: string | undefined;
    if (m.reply_to) {
      replyToExternalId = await this.repo.externalIdFor(conv.id, m.reply_to);
      // Slack threads hang off their first message: answer in the thread of the message answered.
      const parent = await this.store.repos.messages.findById(m.reply_to);
      const bridged = parseJson<{ bridge?: { conversationId?: string; threadId?: string } } | null>(
        parent?.metadata,
        null,
      );
      if (bridged?.bridge?.conversationId === conv.id && bridged.bridge.threadId)
        threadExternalId = bridged.bridge.threadId;
    }
    const files = view.attachments.map((a) => `[${a.type}: ${a.fileName}]`).join(' ');
    return {
      messageId: m.id,
      roomId: m.room_id,
      seq: m.seq,
      text: [m.content, files].filter((t) => t.trim() !== '').join('\n'),
      authorName,
      type: m.type,
      ...(replyToExternalId ? { replyToExternalId } : {}),
      ...(threadExternalId ? { threadExternalId } : {}),
      timestamp: view.timestamp,
      view: view as unknown as Record<string, unknown>,
    };
  }
}

function target(c: ConversationRow): ConversationTarget {
  return {
    id: c.id,
    platform: c.platform as Platform,
    externalId: c.external_id,
    roomId: c.room_id,
    apiKeyId: c.api_key_id,
    replyToken: c.reply_token,
    replyTokenExpiresAt: c.reply_token_expires_at,
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
