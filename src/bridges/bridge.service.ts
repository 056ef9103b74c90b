import { randomBytes } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import type { Bus } from '../bus/bus.js';
import { Errors } from '../errors/errors.js';
import type { MessageView } from '../messages/message-model.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { RoomsService } from '../rooms/rooms.service.js';
import { newId } from '../shared/ids.js';
import type { Store } from '../store/store.js';
import { type BotIdentity, ensureBotUser } from '../users/bot-users.js';
import { usernameStem } from '../users/user-model.js';
import { bridgeClientMsgId, type InboundMessage, PLATFORM_NAMES, type Platform } from './bridge-model.js';
import type { BridgesRepository, ConversationRow } from './bridges.repository.js';

/** A conversation's AI session lasts this long from its first message (seed 003: 24-hour sessions). */
export const SESSION_MS = 24 * 60 * 60 * 1000;
/** Members a bridged room may hold: every platform user who writes becomes one. */
export const BRIDGED_ROOM_MAX_MEMBERS = 100_000;
const MAX_ROOM_NAME = 100;

export interface BridgeServiceOptions {
  botUsername: string;
  botName: string;
  /** BRIDGE_AI_REPLIES: the assistant in new bridged rooms answers every message, mentions only, or not at all. */
  aiReplies: 'all' | 'mentions' | 'off';
}

export interface BridgeServiceDeps {
  store: Store;
  repo: BridgesRepository;
  bus: Bus;
  rooms: RoomsService;
  messages: MessagesService;
  /** Display names the inbound event does not carry (Slack sends only user ids). Best effort. */
  lookupName?: (platform: Platform, externalUserId: string) => Promise<string | undefined>;
  logger: { warn(obj: object, msg: string): void };
  now: () => number;
}

export interface IngestResult {
  conversation: ConversationRow;
  message: MessageView;
  duplicate: boolean;
}

/**
 * Brings platform messages in: the platform conversation becomes a room (created on its first
 * message, owned by the bridge's bot user), the platform user a Switchboard user without a
 * password who becomes a member, and the message is sent as that user with an idempotency key made
 * of the conversation and the platform's message id, so a redelivered webhook adds nothing.
 */
export class BridgeService {
  private identity: BotIdentity | undefined;
  /** Concurrent first messages of one conversation (Slack sends `message` and `app_mention` at once). */
  private readonly opening = new Map<string, Promise<ConversationRow>>();

  constructor(
    private readonly d: BridgeServiceDeps,
    private readonly opts: BridgeServiceOptions,
  ) {}

  async start(): Promise<void> {
    this.identity = await ensureBotUser(
      this.d.store,
      { username: this.opts.botUsername, displayName: this.opts.botName, setting: 'BRIDGE_BOT_USERNAME' },
      this.d.now(),
    );
  }

  get bot(): BotIdentity {
    if (!this.identity) throw new Error('BridgeService.start() has not run');
    return this.identity;
  }

  async ingest(m: InboundMessage): Promise<IngestResult> {
    const conversation = await this.conversation(m);
    const author = await this.platformUser(m);
    await this.ensureMember(conversation.room_id, author.userId);
    const now = this.d.now();
    const session = await this.currentSession(conversation, now);
    const replyTo = m.replyToExternalId
      ? ((await this.d.repo.messageIdFor(conversation.id, m.replyToExternalId)) ?? null)
      : null;
    const result = await this.d.messages.send(
      author,
      conversation.room_id,
      {
        content: m.text,
        clientMsgId: bridgeClientMsgId(conversation.id, m.externalMessageId),
        replyTo,
        metadata: {
          bridge: {
            platform: m.platform,
            conversationId: conversation.id,
            externalMessageId: m.externalMessageId,
            ...(m.threadExternalId ? { threadId: m.threadExternalId } : {}),
            ...(m.extra ? { extra: m.extra } : {}),
          },
        },
      },
      { bridged: true, ...(m.priority ? { aiPriority: m.priority } : {}) },
    );
    await this.d.repo.recordMessage(conversation.id, m.externalMessageId, result.message.messageId, now);
    if (m.replyToken)
      await this.d.repo.setReplyToken(conversation.id, m.replyToken.token, m.replyToken.expiresAt, now);
    return { conversation: session, message: result.message, duplicate: result.duplicate };
  }

  /**
   * Links a platform conversation to an existing room (before its first message, or to move it).
   * The room must exist; the bridge's bot user joins it so it can add platform users.
   */
  async link(
    platform: Platform,
    externalId: string,
    roomId: string,
    title?: string,
  ): Promise<ConversationRow> {
    const room = await this.d.store.repos.rooms.findById(roomId);
    if (!room || room.type === 'direct') throw Errors.roomNotFound('No such room, or a direct conversation');
    const existing = await this.d.repo.findConversation(platform, externalId);
    if (existing)
      throw Errors.conflict(
        `That ${PLATFORM_NAMES[platform]} conversation is linked to room ${existing.room_id}`,
      );
    await this.ensureMember(roomId, this.bot.userId);
    const now = this.d.now();
    await this.d.repo.insertConversation({
      id: newId('brc'),
      platform,
      external_id: externalId,
      room_id: roomId,
      title: title ?? `${PLATFORM_NAMES[platform]} ${externalId}`,
      api_key_id: null,
      session_started_at: now,
      session_start_seq: room.last_seq,
      reply_token: null,
      reply_token_expires_at: null,
      created_at: now,
      updated_at: now,
    });
    const row = await this.d.repo.findConversation(platform, externalId);
    if (!row || row.room_id !== roomId)
      throw Errors.conflict('That conversation was linked at the same moment');
    return row;
  }

  // ---- conversations ----

  private conversation(m: InboundMessage): Promise<ConversationRow> {
    const key = `${m.platform}\u0000${m.conversation.externalId}`;
    const running = this.opening.get(key);
    if (running) return running;
    const p = this.openConversation(m).finally(() => this.opening.delete(key));
    this.opening.set(key, p);
    return p;
  }

  /**
   * The conversation row comes first, naming a room id that may not exist yet; the room is then
   * created under that id. Two nodes opening the same conversation agree on the row (unique key),
   * and a crash between the two steps is repaired by the next message.
   */
  private async openConversation(m: InboundMessage): Promise<ConversationRow> {
    let row = await this.d.repo.findConversation(m.platform, m.conversation.externalId);
    if (!row) {
      const now = this.d.now();
      await this.d.repo.insertConversation({
        id: newId('brc'),
        platform: m.platform,
        external_id: m.conversation.externalId,
        room_id: newId('room'),
        title: m.conversation.title.slice(0, MAX_ROOM_NAME),
        api_key_id: m.apiKeyId ?? null,
        session_started_at: now,
        session_start_seq: 0,
        reply_token: null,
        reply_token_expires_at: null,
        created_at: now,
        updated_at: now,
      });
      row = await this.d.repo.findConversation(m.platform, m.conversation.externalId);
      if (!row) throw Errors.internal('bridge conversation vanished');
    }
    if (!(await this.d.store.repos.rooms.findById(row.room_id))) await this.createRoom(row);
    return row;
  }

  private async createRoom(row: ConversationRow): Promise<void> {
    const platform = row.platform as Platform;
    const name = `${PLATFORM_NAMES[platform] ?? row.platform}: ${row.title}`.slice(0, MAX_ROOM_NAME);
    const ai = this.opts.aiReplies;
    try {
      await this.d.rooms.create(this.botPrincipal(), {
        id: row.room_id,
        name,
        description: `Bridged ${PLATFORM_NAMES[platform] ?? row.platform} conversation (${row.external_id})`,
        type: 'private',
        maxMembers: BRIDGED_ROOM_MAX_MEMBERS,
        settings: { enableAI: ai !== 'off', aiAutoReply: ai === 'all', allowInvites: false },
      });
    } catch (err) {
      // Another request (or node) created it first.
      if (!(await this.d.store.repos.rooms.findById(row.room_id))) throw err;
    }
  }

  /** Rolls the conversation's AI session over once it is 24 h old; returns the row as it is now. */
  private async currentSession(row: ConversationRow, now: number): Promise<ConversationRow> {
    if (now - row.session_started_at < SESSION_MS) return row;
    const room = await this.d.store.repos.rooms.findById(row.room_id);
    const startSeq = room?.last_seq ?? 0;
    await this.d.repo.restartSession(row.id, row.session_started_at, now, startSeq);
    return { ...row, session_started_at: now, session_start_seq: startSeq };
  }

  // ---- users ----

  /** The Switchboard user of a platform user: external identity `bridge:<platform>`, no password. */
  private async platformUser(m: InboundMessage): Promise<Principal> {
    const issuer = `bridge:${m.platform}`;
    const users = this.d.store.repos.users;
    const found = await users.findByExternal(issuer, m.author.externalId);
    if (found) {
      if (m.platform !== 'slack' && found.display_name !== m.author.name && m.author.name) {
        await users.update(found.id, { display_name: m.author.name }, this.d.now());
      }
      return { userId: found.id, username: found.username, isAdmin: false };
    }
    const name = (await this.lookupName(m)) ?? m.author.name;
    const stem = usernameStem(`${platformPrefix(m.platform)}-${name}`);
    for (let attempt = 0; attempt < 5; attempt++) {
      const username = attempt === 0 ? stem : `${stem}-${randomBytes(3).toString('hex')}`;
      const now = this.d.now();
      try {
        await users.insert({
          id: newId('usr'),
          username,
          display_name: name.slice(0, 64) || username,
          password_hash: null,
          is_admin: 0,
          is_bot: 0,
          avatar: null,
          external_issuer: issuer,
          external_subject: m.author.externalId,
          created_at: now,
          updated_at: now,
        });
      } catch {
        // Taken username, or the same platform user created at the same moment: look again.
      }
      const row = await users.findByExternal(issuer, m.author.externalId);
      if (row) return { userId: row.id, username: row.username, isAdmin: false };
    }
    throw Errors.conflict('Could not find a free username for this platform user');
  }

  private async lookupName(m: InboundMessage): Promise<string | undefined> {
    if (!this.d.lookupName) return undefined;
    try {
      return await this.d.lookupName(m.platform, m.author.externalId);
    } catch (err) {
      this.d.logger.warn(
        { err: (err as Error).message, platform: m.platform },
        'platform user name lookup failed',
      );
      return undefined;
    }
  }

  private async ensureMember(roomId: string, userId: string): Promise<void> {
    if (await this.d.store.repos.rooms.getMember(roomId, userId)) return;
    const events = await this.d.store.tx(async (r) => {
      const room = await r.rooms.findById(roomId);
      if (!room) throw Errors.roomNotFound();
      if (await r.rooms.getMember(roomId, userId)) return [];
      return this.d.rooms.addApproved(r, room, userId, this.bot.userId, this.d.now());
    });
    if (events.length > 0) this.d.bus.publish(events);
  }

  private botPrincipal(): Principal {
    return { userId: this.bot.userId, username: this.bot.username, isAdmin: false };
  }
}

function platformPrefix(p: Platform): string {
  return { telegram: 'tg', slack: 'slack', discord: 'discord', api: 'api' }[p];
}
