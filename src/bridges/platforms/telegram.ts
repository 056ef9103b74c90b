import type {
  ConversationTarget,
  InboundMessage,
  OutboundMessage,
  PlatformSender,
  SendOutcome,
} from '../bridge-model.js';
import { outboundText, splitText } from '../outbound-text.js';
import { platformRequest, statusError } from '../platform-http.js';

/** Telegram's limit for one message's text (UTF-16 units). */
export const TELEGRAM_MAX_TEXT = 4096;

interface TgUser {
  id: number;
  is_bot?: boolean;
  first_name?: string;
  last_name?: string;
  username?: string;
}
interface TgChat {
  id: number;
  type: string;
  title?: string;
  first_name?: string;
  last_name?: string;
  username?: string;
}
interface TgMessage {
  message_id: number;
  message_thread_id?: number;
  is_topic_message?: boolean;
  from?: TgUser;
  sender_chat?: TgChat;
  chat: TgChat;
  text?: string;
  caption?: string;
  reply_to_message?: { message_id: number };
  [kind: string]: unknown;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

/** Kinds of non-text messages, named in the text when they have no caption. */
const MEDIA = [
  'photo',
  'video',
  'document',
  'audio',
  'voice',
  'sticker',
  'animation',
  'location',
  'contact',
  'poll',
];

/**
 * Parses a Bot API `Update` (https://core.telegram.org/bots/api#update). Returns the message to
 * bring in, or undefined for updates that carry none for us (edits, callbacks, service messages,
 * other bots). Throws TypeError for a body that is not an Update.
 */
export function parseTelegramUpdate(body: unknown): InboundMessage | undefined {
  if (!isObj(body) || !isInt(body.update_id)) throw new TypeError('not a Telegram update');
  const m = body.message;
  if (m === undefined) return undefined;
  if (!isObj(m) || !isInt(m.message_id) || !isObj(m.chat) || !isInt(m.chat.id))
    throw new TypeError('malformed Telegram message');
  const msg = m as unknown as TgMessage;
  const from = msg.from;
  if (!from || !isInt(from.id) || from.is_bot) return undefined;
  const text =
    typeof msg.text === 'string' ? msg.text : typeof msg.caption === 'string' ? msg.caption : media(msg);
  if (text === undefined) return undefined; // a service message: someone joined, the title changed, ...
  const topic = msg.is_topic_message && isInt(msg.message_thread_id) ? msg.message_thread_id : undefined;
  const chatId = String(msg.chat.id);
  return {
    platform: 'telegram',
    conversation: {
      externalId: topic !== undefined ? `${chatId}:${topic}` : chatId,
      title: chatTitle(msg.chat),
    },
    author: { externalId: String(from.id), name: personName(from) },
    externalMessageId: String(msg.message_id),
    text,
    ...(isObj(msg.reply_to_message) && isInt(msg.reply_to_message.message_id)
      ? { replyToExternalId: String(msg.reply_to_message.message_id) }
      : {}),
  };
}

function media(msg: TgMessage): string | undefined {
  const kind = MEDIA.find((k) => msg[k] !== undefined);
  return kind ? `[${kind}]` : undefined;
}

function personName(u: TgUser): string {
  const full = [u.first_name, u.last_name].filter(Boolean).join(' ').trim();
  return (full || u.username || `telegram user ${u.id}`).slice(0, 64);
}

function chatTitle(c: TgChat): string {
  if (c.title) return c.title;
  const name = [c.first_name, c.last_name].filter(Boolean).join(' ').trim();
  return name || c.username || String(c.id);
}

/** Sends with the Bot API's `sendMessage` (plain text, no parse mode: nothing to escape). */
export class TelegramSender implements PlatformSender {
  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
  ) {}

  async send(to: ConversationTarget, msg: OutboundMessage, signal: AbortSignal): Promise<SendOutcome> {
    const [chatId, topic] = to.externalId.split(':');
    const ids: string[] = [];
    const parts = splitText(
      outboundText(msg, (n) => n),
      TELEGRAM_MAX_TEXT,
    );
    for (const [i, text] of parts.entries()) {
      const body: Record<string, unknown> = { chat_id: chatId, text };
      if (topic) body.message_thread_id = Number(topic);
      if (i === 0 && msg.replyToExternalId) {
        body.reply_parameters = {
          message_id: Number(msg.replyToExternalId),
          allow_sending_without_reply: true,
        };
      }
      ids.push(await this.call('sendMessage', body, signal));
    }
    return { externalIds: ids };
  }

  /** Calls a Bot API method; resolves with the sent message's id. */
  private async call(method: string, body: Record<string, unknown>, signal: AbortSignal): Promise<string> {
    const res = await platformRequest(
      `${this.apiUrl}/bot${this.token}/${method}`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      signal,
    );
    const answer = res.json as
      | {
          ok?: boolean;
          result?: { message_id?: number };
          description?: string;
          parameters?: { retry_after?: number };
        }
      | undefined;
    if (res.status === 200 && answer?.ok === true && isInt(answer.result?.message_id)) {
      return String(answer.result.message_id);
    }
    const retryAfter = answer?.parameters?.retry_after;
    throw statusError(
      `Telegram ${method}`,
      res.status === 200 ? 502 : res.status,
      answer?.description ?? res.text.slice(0, 200),
      isInt(retryAfter) ? retryAfter * 1000 : undefined,
    );
  }
}
