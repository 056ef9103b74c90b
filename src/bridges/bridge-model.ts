import type { Priority } from '../queue/job-queue.js';

/**
 * Where a bridged conversation lives. `api` is a generic integration posting through
 * `POST /message` with an API key; its replies go to the key's callback URL.
 */
export const PLATFORMS = ['telegram', 'slack', 'discord', 'api'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const PLATFORM_NAMES: Record<Platform, string> = {
  telegram: 'Telegram',
  slack: 'Slack',
  discord: 'Discord',
  api: 'API',
};

/** A message arriving from a platform, already verified and parsed by its adapter. */
export interface InboundMessage {
  platform: Platform;
  conversation: {
    /** Unique on the platform: a Telegram chat id, `<team>:<channel>` on Slack, a Discord channel id. */
    externalId: string;
    /** Shown as the room's name. */
    title: string;
  };
  author: {
    /** Unique on the platform. */
    externalId: string;
    /** Display name. */
    name: string;
  };
  /** The platform's id of this message in its conversation; a redelivery carries the same one. */
  externalMessageId: string;
  text: string;
  /** Platform id of the message this one answers (a Telegram reply, a Slack thread root). */
  replyToExternalId?: string;
  /** Slack: the thread the message is in, so answers stay in it. */
  threadExternalId?: string;
  /** Queue priority of the AI answer to this message. @default 'normal' */
  priority?: Priority;
  /** Kept on the message under `metadata.bridge.extra` (POST /message's `metadata`). */
  extra?: Record<string, unknown>;
  /** For `api` conversations: the key that posted it. */
  apiKeyId?: string;
  /** Discord interactions: the token a deferred reply answers, valid until `expiresAt` (epoch ms). */
  replyToken?: { token: string; expiresAt: number };
}

/** What the outbound side sends to a platform for one Switchboard message. */
export interface OutboundMessage {
  messageId: string;
  roomId: string;
  seq: number;
  /** Plain text; the adapter splits it to fit the platform. */
  text: string;
  /** The author's display name, or null when the assistant (or another server feature) wrote it. */
  authorName: string | null;
  /** `text`, `ai_response`, `system`, `agent_result`, ... */
  type: string;
  /** Platform id of the message it replies to in this conversation, if that one crossed the bridge. */
  replyToExternalId?: string;
  /** Slack thread to answer in. */
  threadExternalId?: string;
  timestamp: string;
  /** The full message view (for `api` callbacks). */
  view: Record<string, unknown>;
}

/** A conversation as the outbound side needs it. */
export interface ConversationTarget {
  id: string;
  platform: Platform;
  externalId: string;
  roomId: string;
  apiKeyId: string | null;
  replyToken: string | null;
  replyTokenExpiresAt: number | null;
}

/** Sends to one platform. Throws PlatformError; resolves with the platform ids of what it posted. */
export interface PlatformSender {
  send(to: ConversationTarget, msg: OutboundMessage, signal: AbortSignal): Promise<SendOutcome>;
}

export interface SendOutcome {
  externalIds: string[];
  /** Nothing was sent, on purpose (an API key without a callback URL): why. */
  skipped?: string;
  /** The Discord interaction token was used up. */
  usedReplyToken?: boolean;
}

/** A failed platform call. `retryable` false ends the job (bad chat id, bot removed, bad token). */
export class PlatformError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The platform asked to wait this long (ms) before trying again. */
    readonly retryAfterMs?: number,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PlatformError';
  }
}

/** Idempotency key of a bridged message: one Switchboard message per platform message. */
export function bridgeClientMsgId(conversationId: string, externalMessageId: string): string {
  return `bridge:${conversationId}:${externalMessageId}`;
}

/** The conversation a message came in from, read back from its idempotency key. */
export function originConversation(clientMsgId: string | null | undefined): string | undefined {
  if (!clientMsgId?.startsWith('bridge:')) return undefined;
  const end = clientMsgId.indexOf(':', 7);
  return end > 7 ? clientMsgId.slice(7, end) : undefined;
}
