import { MAX_ATTACHMENTS_PER_MESSAGE } from '../attachments/attachment-model.js';
import type { Principal } from '../auth/principal.js';
import type { Bus } from '../bus/bus.js';
import { Errors } from '../errors/errors.js';
import type { RoomEvent } from '../events/room-event.js';
import { appendOne } from '../events/room-log.js';
import type { ContentPolicy } from '../moderation/content-policy.js';
import type { Priority } from '../queue/job-queue.js';
import { enforceRateLimit } from '../ratelimit/enforce.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';
import { loadRoom, type RoomAccess, requireMember, requireReadable } from '../rooms/room-access.js';
import { atLeast, readSettings } from '../rooms/room-model.js';
import type { RoomsService } from '../rooms/rooms.service.js';
import type { MessageRow } from '../store/database.js';
import { type GroupCommitOptions, GroupCommitter } from '../store/group-commit.js';
import type { Repos, Store } from '../store/store.js';
import type { MessageType, MessageView } from './message-model.js';
import { ANONYMOUS_AUTHOR_ID, toMessageView } from './message-views.js';
import { commitSendBatch, type SendItem, type SendResult } from './send-batch.js';

export interface SendInput {
  content: string;
  type?: MessageType;
  replyTo?: string | null;
  clientMsgId?: string | null;
  isAnonymous?: boolean;
  /** Alias shown for an anonymous message (default `Anonymous`). */
  anonymousName?: string | null;
  /** Ids of completed uploads to this room (see src/attachments); content may then be empty. */
  attachments?: string[];
  /**
   * Called once the send is queued for commit (before it commits). A WebSocket connection waits for
   * this, not for the commit, before it starts its next send: order is kept, commits overlap.
   */
  onSubmitted?: () => void;
  metadata?: Record<string, unknown> | null;
}

export interface HistoryInput {
  /** Seq, or a message id, to page back from. */
  before?: string;
  /** Seq, or a message id, to page forward from. */
  after?: string;
  limit: number;
}

export interface MessagesServiceOptions {
  maxMessageLength: number;
  groupCommit: GroupCommitOptions;
}

/**
 * Unicode emoji (ZWJ sequences and variation selectors are format characters, so they pass) or a
 * short `:shortcode:`; no whitespace or control characters. 32 code points fit any emoji sequence.
 */
const EMOJI_RE = /^[^\s\p{Cc}\p{Cs}\p{Co}\p{Cn}]{1,32}$/u;
const MAX_REACTION_KINDS_PER_USER = 20;

/** A message a server feature posts (see `postAsServer`). */
export interface ServerPost {
  content: string;
  type: 'system' | 'ai_response' | 'agent_result';
  replyTo?: string | null;
  clientMsgId?: string | null;
  metadata?: Record<string, unknown> | null;
  /**
   * Attachments the server stored for this post (AttachmentsService.storeServerFile): ready, in this
   * room, uploaded by `authorId`, unused; checked in the batch like a user's.
   */
  attachmentIds?: string[];
}

/** `authorId` is the real author, also of anonymous messages (whose view hides it). */
export type SentListener = (e: {
  message: MessageView;
  authorId: string;
  /** Asked for by the server feature that sent it (SendHints). */
  aiPriority?: Priority;
}) => void | Promise<void>;

/**
 * What a server feature sending on a user's behalf (the bridges) may add to `send`. No route or
 * frame passes these.
 */
export interface SendHints {
  /** Queue priority of an AI answer the message triggers. */
  aiPriority?: Priority;
  /** The sender is a bridge: it may use the reserved `metadata.bridge` and `bridge:` idempotency keys. */
  bridged?: boolean;
}

/** Key of `metadata` and prefix of `clientMsgId` that only bridges may set (src/bridges). */
export const RESERVED_METADATA_KEY = 'bridge';
export const RESERVED_CLIENT_MSG_PREFIX = 'bridge:';

export class MessagesService {
  private readonly committer: GroupCommitter<SendItem, SendResult>;
  private readonly sentListeners: SentListener[] = [];
  /** Where listener failures go; app.ts points it at the logger. */
  onListenerError: (err: unknown) => void = () => {};

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly rooms: RoomsService,
    private readonly sendLimiter: RateLimiter,
    private readonly policy: ContentPolicy,
    private readonly opts: MessagesServiceOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.committer = new GroupCommitter(
      (items) => this.store.tx((r) => commitSendBatch(r, items, policy)),
      opts.groupCommit,
    );
  }

  /** Sends to a room. Resolves after commit; a retried `clientMsgId` returns the stored message. */
  async send(p: Principal, roomId: string, input: SendInput, hints: SendHints = {}): Promise<SendResult> {
    const content = this.checkContent(input.content, (input.attachments?.length ?? 0) > 0);
    this.checkUserInput(input, hints);
    await enforceRateLimit(this.sendLimiter, p.userId, 'messages');
    return this.sendChecked(p, roomId, input, content, undefined, hints);
  }

  /**
   * Sends a `poll` message (content = question) whose definition rides in its metadata under `poll`;
   * the same checks, rate limit and group commit as `send`. Validated by PollsService (src/polls).
   */
  async sendPoll(
    p: Principal,
    roomId: string,
    question: string,
    poll: { options: { text: string }[] },
  ): Promise<SendResult> {
    const content = this.checkContent(question);
    await enforceRateLimit(this.sendLimiter, p.userId, 'messages');
    return this.sendChecked(
      p,
      roomId,
      { content, type: 'poll', metadata: { poll } },
      content,
      poll.options.map((o) => o.text),
    );
  }

  /** Sends a direct message to a user, opening the conversation on first use. */
  async sendDirect(p: Principal, toUserId: string, input: SendInput): Promise<SendResult> {
    const content = this.checkContent(input.content, (input.attachments?.length ?? 0) > 0);
    this.checkUserInput(input);
    // Rate-limited before the conversation is created, so a refused send creates nothing.
    await enforceRateLimit(this.sendLimiter, p.userId, 'messages');
    const room = await this.rooms.findOrCreateDirect(p, toUserId);
    return this.sendChecked(p, room.roomId, input, content);
  }

  /**
   * Posts a `system` message on behalf of `authorId`; see `postAsServer`.
   */
  async postSystem(
    roomId: string,
    authorId: string,
    content: string,
    metadata: Record<string, unknown> | null,
  ): Promise<SendResult> {
    return this.postAsServer(roomId, authorId, { content, type: 'system', metadata });
  }

  /**
   * Posts a server-written message (`system`, or an `ai_response` from the assistant) on behalf of
   * `authorId`, through the same group commit and log as `send` but without membership, role,
   * moderation or rate checks: only for server features that authorized the post themselves. No
   * route or frame reaches it. The room must exist. A `clientMsgId` makes retries commit once.
   */
  async postAsServer(roomId: string, authorId: string, post: ServerPost): Promise<SendResult> {
    const text = this.checkContent(post.content);
    const author = await this.store.repos.users.findById(authorId);
    if (!author) throw Errors.userNotFound();
    const result = await this.committer.submit({
      roomId,
      authorId,
      authorName: author.display_name,
      authorAvatar: author.avatar,
      content: text,
      type: post.type,
      replyTo: post.replyTo ?? null,
      clientMsgId: post.clientMsgId ?? null,
      attachments: null,
      metadata: post.metadata ?? null,
      ...(post.attachmentIds?.length ? { attachmentIds: post.attachmentIds } : {}),
      now: this.now(),
    });
    if (result.event) this.bus.publish([result.event]);
    return result;
  }

  /**
   * Calls `listener` after each new user message commits (not retries, not server posts), on the
   * node that committed it: the AI assistant looks for its triggers here. Listener errors are
   * caught; they never fail the send.
   */
  onSent(listener: SentListener): void {
    this.sentListeners.push(listener);
  }

  private notifySent(authorId: string, result: SendResult, aiPriority?: Priority): void {
    if (!result.event || this.sentListeners.length === 0) return;
    for (const listener of this.sentListeners) {
      try {
        const r = listener({ message: result.message, authorId, ...(aiPriority ? { aiPriority } : {}) });
        if (r instanceof Promise) r.catch((err) => this.onListenerError(err));
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  private async sendChecked(
    p: Principal,
    roomId: string,
    input: SendInput,
    content: string,
    extraTexts?: string[],
    hints: SendHints = {},
  ): Promise<SendResult> {
    const anonymousName = input.isAnonymous ? (input.anonymousName?.trim() ?? null) || null : null;
    const attachmentIds = input.attachments?.length ? input.attachments : undefined;
    if (this.policy.hasAi) await this.aiModerate(p, roomId, [content, ...(extraTexts ?? [])]);
    const type = input.type ?? (attachmentIds ? await this.typeOfAttachment(attachmentIds[0]!) : 'text');
    // Membership, bans, mutes, announcement and anonymity rights, replyTo and the local content
    // filter are checked inside the batch's transaction, for the whole batch at once (send-checks.ts).
    const pending = this.committer.submit({
      roomId,
      authorId: p.userId,
      authorize: true,
      content,
      type,
      replyTo: input.replyTo ?? null,
      clientMsgId: input.clientMsgId ?? null,
      attachments: null,
      metadata: input.metadata ?? null,
      isAnonymous: input.isAnonymous === true,
      anonymousName,
      extraTexts,
      attachmentIds,
      now: this.now(),
    });
    // Queued: batches commit in submission order, so the caller may submit its next send now.
    input.onSubmitted?.();
    const result = await pending;
    if (result.event) this.bus.publish([result.event]);
    this.notifySent(p.userId, result, hints.aiPriority);
    return result;
  }

  /**
   * The AI classification of `strict` rooms, before the message enters a batch (a model call must
   * not hold a transaction open). Skipped when the local filter will refuse the text anyway.
   */
  private async aiModerate(p: Principal, roomId: string, texts: string[]): Promise<void> {
    const room = await this.store.repos.rooms.findById(roomId);
    if (!room) return; // the batch answers ROOM_NOT_FOUND
    const level = readSettings(room.settings).moderationLevel;
    if (level !== 'strict' || this.policy.checkLocal(level, texts)) return;
    await this.policy.checkAi(level, texts.join('\n'), { roomId, userId: p.userId });
  }

  /** Rules for what users send directly (not server-side posts). */
  private checkUserInput(input: SendInput, hints: SendHints = {}): void {
    if (!hints.bridged) {
      if (input.metadata && Object.hasOwn(input.metadata, RESERVED_METADATA_KEY)) {
        throw Errors.validation(`metadata.${RESERVED_METADATA_KEY} is reserved for bridged messages`);
      }
      if (input.clientMsgId?.startsWith(RESERVED_CLIENT_MSG_PREFIX)) {
        throw Errors.validation(`clientMsgId may not start with "${RESERVED_CLIENT_MSG_PREFIX}"`);
      }
    }
    if (input.type === 'poll') {
      throw Errors.validation('Create polls with POST /v1/rooms/:roomId/polls, which checks their options');
    }
    if (input.anonymousName != null && !input.isAnonymous) {
      throw Errors.validation('anonymousName needs isAnonymous: true');
    }
    const files = input.attachments ?? [];
    if (files.length > MAX_ATTACHMENTS_PER_MESSAGE) {
      throw Errors.validation(`At most ${MAX_ATTACHMENTS_PER_MESSAGE} attachments per message`);
    }
    if (new Set(files).size !== files.length) throw Errors.validation('attachments lists an id twice');
  }

  async history(p: Principal, roomId: string, q: HistoryInput) {
    const a = await loadRoom(this.store.repos, p, roomId, this.now());
    requireReadable(a);
    const beforeSeq = q.before !== undefined ? await this.cursorSeq(roomId, q.before) : undefined;
    const afterSeq = q.after !== undefined ? await this.cursorSeq(roomId, q.after) : undefined;
    // One extra row tells whether there is more without a count query.
    const rows = await this.store.repos.messages.history({ roomId, beforeSeq, afterSeq, limit: q.limit + 1 });
    const ascending = afterSeq !== undefined && beforeSeq === undefined;
    const hasMore = rows.length > q.limit;
    const page = hasMore ? (ascending ? rows.slice(0, q.limit) : rows.slice(1)) : rows;
    const reactions = await this.store.repos.messages.reactionsFor(page.map((m) => m.id));
    const revealAuthor = canSeeAnonymousAuthors(a);
    const messages = page.map((m) =>
      toMessageView(m, { name: m.author_name, avatar: m.author_avatar }, reactions.get(m.id), {
        revealAuthor,
      }),
    );
    return {
      messages,
      pagination: {
        hasMore,
        limit: q.limit,
        before: messages[0]?.seq ?? null,
        after: messages.at(-1)?.seq ?? null,
      },
    };
  }

  async get(p: Principal, roomId: string, messageId: string): Promise<MessageView> {
    const a = await loadRoom(this.store.repos, p, roomId, this.now());
    requireReadable(a);
    return this.view(this.store.repos, roomId, messageId, canSeeAnonymousAuthors(a));
  }

  async edit(p: Principal, roomId: string, messageId: string, content: string): Promise<MessageView> {
    const text = this.checkContent(content);
    if (this.policy.hasAi) await this.aiModerate(p, roomId, [text]);
    return this.mutate(p, roomId, messageId, async (r, a, msg, now) => {
      requireMember(a);
      if (msg.author_id !== p.userId) throw Errors.forbidden('You can only edit your own messages');
      if (msg.type !== 'text') throw Errors.validation(`Messages of type ${msg.type} cannot be edited`);
      const blocked = this.policy.checkLocal(readSettings(a.room.settings).moderationLevel, [text]);
      if (blocked) throw blocked;
      await r.messages.update(messageId, { content: text, edited_at: now });
      const message = await this.view(r, roomId, messageId);
      return appendOne(r, roomId, now, {
        type: 'message_updated',
        actorId: msg.is_anonymous === 1 ? null : p.userId,
        body: { message, change: 'edit' },
      });
    });
  }

  async delete(p: Principal, roomId: string, messageId: string): Promise<void> {
    await this.mutate(p, roomId, messageId, async (r, a, msg, now) => {
      const m = requireMember(a);
      if (msg.author_id !== p.userId && !atLeast(m.role, 'moderator')) {
        throw Errors.forbidden("Only moderators can delete other people's messages");
      }
      await r.messages.update(messageId, {
        deleted_at: now,
        deleted_by: p.userId,
        is_pinned: 0,
        pinned_by: null,
        pinned_at: null,
      });
      await r.messages.clearReactions(messageId);
      if (msg.attachments) await r.attachments.markDeletedForMessages([messageId], now);
      // An author taking back an anonymous message stays anonymous.
      const self = msg.is_anonymous === 1 && msg.author_id === p.userId;
      return appendOne(r, roomId, now, {
        type: 'message_deleted',
        actorId: self ? null : p.userId,
        body: { messageId, deletedBy: self ? ANONYMOUS_AUTHOR_ID : p.userId },
      });
    });
    // Files go after commit; a failure leaves them marked for the next purge.
    await this.purgeFiles().catch((err) => this.onListenerError(err));
  }

  async react(
    p: Principal,
    roomId: string,
    messageId: string,
    emoji: string,
    add: boolean,
  ): Promise<string[]> {
    if (!EMOJI_RE.test(emoji))
      throw Errors.validation('emoji must be 1-32 characters without spaces or control characters');
    let users: string[] = [];
    await this.mutate(p, roomId, messageId, async (r, a, _msg, now) => {
      requireMember(a);
      if (add) {
        if ((await r.messages.countReactionKinds(messageId, p.userId)) >= MAX_REACTION_KINDS_PER_USER) {
          throw Errors.validation(`At most ${MAX_REACTION_KINDS_PER_USER} different reactions per message`);
        }
        if (!(await r.messages.addReaction(messageId, roomId, p.userId, emoji, now))) {
          users = await r.messages.reactionUsers(messageId, emoji);
          return undefined; // already there: nothing changes, nothing logged
        }
      } else if (!(await r.messages.removeReaction(messageId, p.userId, emoji))) {
        users = await r.messages.reactionUsers(messageId, emoji);
        return undefined;
      }
      users = await r.messages.reactionUsers(messageId, emoji);
      return appendOne(r, roomId, now, {
        type: 'reaction_updated',
        actorId: p.userId,
        body: { messageId, emoji, userId: p.userId, action: add ? 'added' : 'removed', users },
      });
    });
    return users;
  }

  async pin(p: Principal, roomId: string, messageId: string, pinned: boolean): Promise<MessageView> {
    return this.mutate(p, roomId, messageId, async (r, a, msg, now) => {
      const m = requireMember(a);
      // In small private conversations anyone may pin; in open rooms pins are curated by moderators.
      const anyone = a.room.type === 'direct' || a.room.type === 'group';
      if (!anyone && !atLeast(m.role, 'moderator'))
        throw Errors.forbidden('Only moderators can pin messages here');
      if ((msg.is_pinned === 1) === pinned) return undefined;
      await r.messages.update(messageId, {
        is_pinned: pinned ? 1 : 0,
        pinned_by: pinned ? p.userId : null,
        pinned_at: pinned ? now : null,
      });
      const message = await this.view(r, roomId, messageId);
      return appendOne(r, roomId, now, {
        type: 'message_updated',
        actorId: p.userId,
        body: { message, change: pinned ? 'pin' : 'unpin' },
      });
    }).then(() => this.view(this.store.repos, roomId, messageId));
  }

  async pinned(p: Principal, roomId: string): Promise<MessageView[]> {
    const a = await loadRoom(this.store.repos, p, roomId, this.now());
    requireReadable(a);
    const rows = await this.store.repos.messages.pinned(roomId);
    const reactions = await this.store.repos.messages.reactionsFor(rows.map((m) => m.id));
    const revealAuthor = canSeeAnonymousAuthors(a);
    return rows.map((m) =>
      toMessageView(m, { name: m.author_name, avatar: m.author_avatar }, reactions.get(m.id), {
        revealAuthor,
      }),
    );
  }

  /** Raw room log after a seq, for clients catching up (the same events the live stream carries). */
  async events(p: Principal, roomId: string, afterSeq: number, limit: number) {
    const a = await loadRoom(this.store.repos, p, roomId, this.now());
    requireReadable(a);
    const events = await this.store.repos.events.after(roomId, afterSeq, limit + 1);
    const hasMore = events.length > limit;
    return { events: hasMore ? events.slice(0, limit) : events, hasMore, lastSeq: a.room.last_seq };
  }

  /** Waits for queued sends to commit. */
  close(): Promise<void> {
    return this.committer.close();
  }

  /** A message with attachments and no explicit type takes its first attachment's kind. */
  private async typeOfAttachment(id: string): Promise<MessageType> {
    const f = await this.store.repos.attachments.findById(id);
    return (f?.kind as MessageType | undefined) ?? 'file';
  }

  /** Purges deleted messages' files after commit; app.ts points it at AttachmentsService. */
  purgeFiles: () => Promise<unknown> = async () => {};

  private checkContent(content: string, emptyAllowed = false): string {
    if (emptyAllowed && content.trim().length === 0) return content;
    // Characters as people count them (code points), so an emoji is one, not two UTF-16 units.
    if (content.length > this.opts.maxMessageLength && [...content].length > this.opts.maxMessageLength) {
      throw Errors.messageTooLong(`Message is longer than ${this.opts.maxMessageLength} characters`);
    }
    if (content.trim().length === 0) throw Errors.validation('Message content is empty');
    return content;
  }

  /** Runs a change to one live message in a transaction, then publishes the event it logged. */
  private async mutate<T extends RoomEvent | undefined>(
    p: Principal,
    roomId: string,
    messageId: string,
    fn: (r: Repos, a: RoomAccess, msg: MessageRow, now: number) => Promise<T>,
  ): Promise<T extends RoomEvent ? MessageView : undefined> {
    const now = this.now();
    const event = await this.store.tx(async (r) => {
      const a = await loadRoom(r, p, roomId, now);
      const msg = await r.messages.findById(messageId);
      if (!msg || msg.room_id !== roomId) throw Errors.messageNotFound();
      if (msg.deleted_at !== null) throw Errors.messageDeleted();
      return fn(r, a, msg, now);
    });
    if (event) this.bus.publish([event]);
    const body = event?.body as { message?: MessageView } | undefined;
    return body?.message as T extends RoomEvent ? MessageView : undefined;
  }

  private async view(
    r: Repos,
    roomId: string,
    messageId: string,
    revealAuthor = false,
  ): Promise<MessageView> {
    const m = await r.messages.withAuthor(messageId);
    if (!m || m.room_id !== roomId) throw Errors.messageNotFound();
    const reactions = await r.messages.reactionsFor([m.id]);
    return toMessageView(m, { name: m.author_name, avatar: m.author_avatar }, reactions.get(m.id), {
      revealAuthor,
    });
  }

  /** A history cursor: a seq number, or a message id in this room. */
  private async cursorSeq(roomId: string, cursor: string): Promise<number> {
    if (/^\d+$/.test(cursor)) return Number(cursor);
    const m = await this.store.repos.messages.findById(cursor);
    if (!m || m.room_id !== roomId) throw Errors.validation(`Unknown cursor ${cursor}`);
    return m.seq;
  }
}

/** Moderators and above see who wrote anonymous messages (in REST reads; the live log never says). */
function canSeeAnonymousAuthors(a: RoomAccess): boolean {
  return a.member !== undefined && atLeast(a.member.role, 'moderator');
}
