import type {
  ConversationTarget,
  InboundMessage,
  OutboundMessage,
  PlatformSender,
  SendOutcome,
} from '../bridge-model.js';
import { outboundText, splitText } from '../outbound-text.js';
import { type PlatformResponse, platformRequest, statusError } from '../platform-http.js';

/** Discord's limit for one message's content. */
export const DISCORD_MAX_TEXT = 2000;
/** An interaction token answers follow-ups for 15 minutes. */
export const INTERACTION_TOKEN_MS = 15 * 60 * 1000;

/** Interaction types and callback types (https://discord.com/developers/docs/interactions/receiving-and-responding). */
export const InteractionType = { PING: 1, APPLICATION_COMMAND: 2 } as const;
export const CallbackType = { PONG: 1, CHANNEL_MESSAGE: 4, DEFERRED_CHANNEL_MESSAGE: 5 } as const;
/** Message flag: only the user who ran the command sees it. */
const EPHEMERAL = 64;

/** Commands whose name is also the assistant's command, so `/summarize 20` stays `/summarize 20`. */
const ASSISTANT_COMMANDS = new Set(['ai', 'ask', 'summarize', 'summarise', 'translate', 'stop']);

export type DiscordInteraction =
  | { kind: 'ping' }
  | { kind: 'command'; message: InboundMessage }
  | { kind: 'unsupported'; type: number };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

interface DiscordUser {
  id: string;
  username?: string;
  global_name?: string | null;
  bot?: boolean;
}

/**
 * Parses an interaction (an HTTP POST to the app's Interactions Endpoint URL). A slash command
 * becomes a message with its string options as text; its reply is deferred (type 5) and filled in by
 * the first answer within 15 minutes. Throws TypeError for a body that is not an interaction.
 */
export function parseDiscordInteraction(body: unknown, now: number): DiscordInteraction {
  if (!isObj(body) || typeof body.type !== 'number') throw new TypeError('not a Discord interaction');
  if (body.type === InteractionType.PING) return { kind: 'ping' };
  if (body.type !== InteractionType.APPLICATION_COMMAND) return { kind: 'unsupported', type: body.type };
  const data = body.data;
  const user = (isObj(body.member) ? body.member.user : body.user) as DiscordUser | undefined;
  if (!isObj(data) || !str(data.name) || !str(body.id) || !str(body.token) || !str(body.channel_id))
    throw new TypeError('malformed application command');
  if (!isObj(user) || !str(user.id)) throw new TypeError('application command without a user');
  const args = optionText(data.options);
  const name = data.name.toLowerCase();
  const text = ASSISTANT_COMMANDS.has(name) ? `/${name}${args ? ` ${args}` : ''}` : args || `/${name}`;
  return {
    kind: 'command',
    message: {
      platform: 'discord',
      conversation: { externalId: body.channel_id, title: channelTitle(body) },
      author: { externalId: user.id, name: userName(user) },
      externalMessageId: `interaction-${body.id}`,
      text,
      replyToken: { token: body.token, expiresAt: now + INTERACTION_TOKEN_MS },
    },
  };
}

/** String, number and boolean option values, in order (sub-commands flattened). */
function optionText(options: unknown): string {
  if (!Array.isArray(options)) return '';
  const parts: string[] = [];
  for (const o of options) {
    if (!isObj(o)) continue;
    if (Array.isArray(o.options)) parts.push(optionText(o.options));
    else if (typeof o.value === 'string' || typeof o.value === 'number' || typeof o.value === 'boolean')
      parts.push(String(o.value));
  }
  return parts.filter(Boolean).join(' ').trim();
}

function channelTitle(body: Record<string, unknown>): string {
  const ch = body.channel;
  if (isObj(ch) && str(ch.name)) return `#${ch.name}`;
  return str(body.guild_id) ? `channel ${String(body.channel_id)}` : 'direct message';
}

export function userName(u: DiscordUser): string {
  return (u.global_name || u.username || `discord user ${u.id}`).slice(0, 64);
}

/**
 * A gateway `MESSAGE_CREATE` from a person as an inbound message; undefined for bots, webhooks
 * and empty system messages. `botUserId` turns a mention of our bot into `@ai`.
 */
export function parseDiscordMessage(d: unknown, botUserId?: string): InboundMessage | undefined {
  if (!isObj(d) || !str(d.id) || !str(d.channel_id) || !isObj(d.author)) return undefined;
  const author = d.author as unknown as DiscordUser;
  if (!str(author.id) || author.bot || str(d.webhook_id)) return undefined;
  let text = typeof d.content === 'string' ? d.content : '';
  if (botUserId) text = text.replace(new RegExp(`<@!?${botUserId}>`, 'g'), '@ai');
  if (text.trim() === '' && Array.isArray(d.attachments) && d.attachments.length > 0) text = '[attachment]';
  if (text.trim() === '') return undefined;
  const ref = d.message_reference;
  return {
    platform: 'discord',
    conversation: {
      externalId: d.channel_id,
      title: str(d.guild_id) ? `channel ${d.channel_id}` : 'direct message',
    },
    author: { externalId: author.id, name: userName(author) },
    externalMessageId: d.id,
    text,
    ...(isObj(ref) && str(ref.message_id) ? { replyToExternalId: ref.message_id } : {}),
  };
}

/** The answer to an interaction: PONG, the deferred reply, or an ephemeral notice. */
export function interactionResponse(i: DiscordInteraction, notice?: string): Record<string, unknown> {
  if (i.kind === 'ping') return { type: CallbackType.PONG };
  if (i.kind === 'command' && notice === undefined) return { type: CallbackType.DEFERRED_CHANNEL_MESSAGE };
  return {
    type: CallbackType.CHANNEL_MESSAGE,
    data: { content: notice ?? 'This interaction is not supported.', flags: EPHEMERAL },
  };
}

/**
 * Sends with the REST API: the first part of the first answer after a slash command fills in its
 * deferred reply (through the interaction webhook), everything else is a channel message. Mentions
 * in relayed text never ping anyone (`allowed_mentions: {parse: []}`).
 */
export class DiscordSender implements PlatformSender {
  constructor(
    private readonly apiUrl: string,
    private readonly botToken: string | undefined,
    private readonly applicationId: string | undefined,
    private readonly now: () => number,
  ) {}

  async send(to: ConversationTarget, msg: OutboundMessage, signal: AbortSignal): Promise<SendOutcome> {
    const parts = splitText(
      outboundText(msg, (n) => `**${escapeMarkdown(n)}**`),
      DISCORD_MAX_TEXT,
    );
    const ids: string[] = [];
    let usedReplyToken = false;
    const token =
      to.replyToken && to.replyTokenExpiresAt !== null && to.replyTokenExpiresAt > this.now() + 5000
        ? to.replyToken
        : undefined;
    for (const [i, content] of parts.entries()) {
      const base = { content, allowed_mentions: { parse: [] } };
      if (token && this.applicationId) {
        const path = i === 0 ? `/messages/@original` : '';
        const res = await this.call(
          `${this.apiUrl}/webhooks/${this.applicationId}/${token}${path}`,
          i === 0 ? 'PATCH' : 'POST',
          base,
          signal,
          false,
        );
        ids.push(messageId(res));
        usedReplyToken = true;
        continue;
      }
      if (!this.botToken)
        throw statusError('Discord', 400, 'DISCORD_BOT_TOKEN is not set and no interaction to answer');
      const body =
        i === 0 && msg.replyToExternalId && !msg.replyToExternalId.startsWith('interaction-')
          ? { ...base, message_reference: { message_id: msg.replyToExternalId, fail_if_not_exists: false } }
          : base;
      const res = await this.call(
        `${this.apiUrl}/channels/${to.externalId}/messages`,
        'POST',
        body,
        signal,
        true,
      );
      ids.push(messageId(res));
    }
    return { externalIds: ids, usedReplyToken };
  }

  private async call(
    url: string,
    method: string,
    body: Record<string, unknown>,
    signal: AbortSignal,
    auth: boolean,
  ): Promise<PlatformResponse> {
    const res = await platformRequest(
      url,
      {
        method,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'DiscordBot (https://github.com/switchboard, 1.0)',
          ...(auth ? { authorization: `Bot ${this.botToken}` } : {}),
        },
        body: JSON.stringify(body),
      },
      signal,
    );
    if (res.status >= 200 && res.status < 300) return res;
    const answer = isObj(res.json) ? res.json : {};
    const retryAfter =
      typeof answer.retry_after === 'number' ? Math.ceil(answer.retry_after * 1000) : undefined;
    throw statusError(
      'Discord',
      res.status,
      str(answer.message) ? answer.message : res.text.slice(0, 200),
      retryAfter,
    );
  }
}

function messageId(res: PlatformResponse): string {
  const id = isObj(res.json) ? res.json.id : undefined;
  return typeof id === 'string' ? id : '';
}

function escapeMarkdown(s: string): string {
  return s.replace(/([\\*_~`|>])/g, '\\$1');
}
