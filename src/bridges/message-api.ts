import { randomUUID } from 'node:crypto';
import { Errors } from '../errors/errors.js';
import type { MessageView } from '../messages/message-model.js';
import { toMessageView } from '../messages/message-views.js';
import type { Priority } from '../queue/job-queue.js';
import type { Store } from '../store/store.js';
import type { BridgeService } from './bridge.service.js';
import type { ApiKeyRow, BridgesRepository } from './bridges.repository.js';
import { apiConversationKey } from './platforms/api-callback.js';

/** Seed 003's `POST /message` body, plus optional `message_id` (idempotency) and `user_name`. */
export interface PostMessageInput {
  user_id: string;
  platform: string;
  content: string;
  priority?: string;
  thread_id?: string | null;
  metadata?: Record<string, unknown>;
  message_id?: string;
  user_name?: string;
}

export interface PostMessageResult {
  status: 'accepted';
  messageId: string;
  conversationId: string;
  roomId: string;
  seq: number;
  duplicate: boolean;
  threadId: string;
}

export interface MessageStatus {
  message: MessageView;
  /** Messages answering it (the assistant's answer among them), oldest first. */
  replies: MessageView[];
}

/** Most replies GET /message/:id returns. */
const MAX_REPLIES = 50;

/**
 * The generic integration API (seed 003): an integration posts its users' messages with an API key;
 * each (platform, thread) is a bridged conversation and room, and `priority` is the queue priority of
 * the AI answer. Answers reach the integration at the key's callback URL, or by polling GET /message/:id.
 */
export class MessageApi {
  constructor(
    private readonly store: Store,
    private readonly repo: BridgesRepository,
    private readonly bridge: BridgeService,
  ) {}

  async post(key: ApiKeyRow, input: PostMessageInput): Promise<PostMessageResult> {
    const platform = input.platform.toLowerCase();
    const threadId = input.thread_id ?? `user-${input.user_id}`;
    const result = await this.bridge.ingest({
      platform: 'api',
      conversation: {
        externalId: apiConversationKey(key.id, platform, threadId),
        title: `${input.platform} ${threadId}`,
      },
      author: {
        externalId: `${key.id}:${platform}:${input.user_id}`,
        name: input.user_name ?? input.user_id,
      },
      externalMessageId: input.message_id ?? randomUUID(),
      text: input.content,
      priority: input.priority ? (input.priority.toLowerCase() as Priority) : 'normal',
      extra: {
        platform: input.platform,
        userId: input.user_id,
        ...(input.metadata ? { metadata: input.metadata } : {}),
      },
      apiKeyId: key.id,
    });
    return {
      status: 'accepted',
      messageId: result.message.messageId,
      conversationId: result.conversation.id,
      roomId: result.conversation.room_id,
      seq: result.message.seq,
      duplicate: result.duplicate,
      threadId,
    };
  }

  /** A message this key posted (or that answers one), with its replies. Other keys' messages are 404. */
  async get(key: ApiKeyRow, messageId: string): Promise<MessageStatus> {
    const m = await this.store.repos.messages.withAuthor(messageId);
    if (!m) throw Errors.messageNotFound();
    const conversations = await this.repo.conversationsOfRooms([m.room_id]);
    let owned = false;
    for (const c of conversations) {
      const row = await this.repo.findConversationById(c.id);
      if (row?.api_key_id === key.id) owned = true;
    }
    if (!owned) throw Errors.messageNotFound();
    const replies = await this.store.repos.messages.replies(m.room_id, m.id, m.seq, MAX_REPLIES);
    const view = (r: typeof m) => toMessageView(r, { name: r.author_name, avatar: r.author_avatar });
    return { message: view(m), replies: replies.map(view) };
  }
}
