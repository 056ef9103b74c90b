import type {
  ConversationTarget,
  InboundMessage,
  OutboundMessage,
  PlatformSender,
  SendOutcome,
} from '../bridge-model.js';
import { outboundText, splitText } from '../outbound-text.js';
import { platformRequest, retryAfterHeader, statusError } from '../platform-http.js';

/** Slack truncates messages above 40,000 characters and advises at most 4,000 per message. */
export const SLACK_MAX_TEXT = 4000;

/** What a Slack Events API request asks of us. */
export type SlackRequest =
  | { kind: 'challenge'; challenge: string }
  | { kind: 'message'; message: InboundMessage; eventId: string }
  | { kind: 'ignore'; reason: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Message subtypes that are still a person writing. */
const HUMAN_SUBTYPES = new Set(['file_share', 'thread_broadcast', 'me_message']);

/**
 * Parses an Events API request body (https://api.slack.com/apis/events-api): the URL check, or a
 * `message` / `app_mention` event from a person. Messages from bots (our own replies come back
 * as events too), edits and channel joins are ignored. Throws TypeError for a body that is not one.
 */
export function parseSlackRequest(body: unknown): SlackRequest {
  if (!isObj(body) || !str(body.type)) throw new TypeError('not a Slack Events API request');
  if (body.type === 'url_verification') {
    if (!str(body.challenge)) throw new TypeError('url_verification without a challenge');
    return { kind: 'challenge', challenge: body.challenge };
  }
  if (body.type !== 'event_callback') return { kind: 'ignore', reason: `request type ${body.type}` };
  const e = body.event;
  if (!isObj(e) || !str(e.type) || !str(body.team_id)) throw new TypeError('malformed event_callback');
  if (e.type !== 'message' && e.type !== 'app_mention') return { kind: 'ignore', reason: `event ${e.type}` };
  if (str(e.subtype) && !HUMAN_SUBTYPES.has(e.subtype))
    return { kind: 'ignore', reason: `subtype ${e.subtype}` };
  if (str(e.bot_id) || !str(e.user)) return { kind: 'ignore', reason: 'from a bot' };
  if (!str(e.channel) || !str(e.ts)) throw new TypeError('message event without channel or ts');
  const botUser = botUserId(body);
  const text = fromSlackText(typeof e.text === 'string' ? e.text : '', botUser);
  const threadTs = str(e.thread_ts) && e.thread_ts !== e.ts ? e.thread_ts : undefined;
  return {
    kind: 'message',
    eventId: str(body.event_id) ? body.event_id : `${e.channel}:${e.ts}`,
    message: {
      platform: 'slack',
      conversation: {
        externalId: `${body.team_id}:${e.channel}`,
        title: e.channel_type === 'im' ? 'Slack direct message' : `Slack ${e.channel}`,
      },
      author: { externalId: `${body.team_id}:${e.user}`, name: e.user },
      // `message` and `app_mention` of one post share its ts: the second one is a duplicate send.
      externalMessageId: e.ts,
      text: text.trim() === '' ? '[file]' : text,
      ...(threadTs ? { replyToExternalId: threadTs, threadExternalId: threadTs } : {}),
    },
  };
}

/** The app's own bot user, from the event's authorizations (so a mention of it becomes `@ai`). */
function botUserId(body: Record<string, unknown>): string | undefined {
  const auths = body.authorizations;
  if (Array.isArray(auths) && isObj(auths[0]) && str(auths[0].user_id)) return auths[0].user_id;
  return undefined;
}

/** Slack's escaped text (`&amp;`, `<@U123>`, `<https://x|label>`) as plain text. */
export function fromSlackText(text: string, botUser?: string): string {
  return text
    .replace(/<@([A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id: string) => (id === botUser ? '@ai' : `@${id}`))
    .replace(/<#[A-Z0-9]+\|([^>]*)>/g, '#$1')
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/<(https?:[^>]+)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Plain text as Slack expects it: `&`, `<` and `>` escaped, so nothing turns into a mention or link. */
export function toSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack error codes worth retrying; every other `ok: false` is permanent (bad channel, revoked token). */
const RETRYABLE = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

/** Sends with the Web API's `chat.postMessage`, in the thread of the message answered. */
export class SlackSender implements PlatformSender {
  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
  ) {}

  async send(to: ConversationTarget, msg: OutboundMessage, signal: AbortSignal): Promise<SendOutcome> {
    const channel = to.externalId.slice(to.externalId.indexOf(':') + 1);
    const thread = msg.threadExternalId ?? msg.replyToExternalId;
    const ids: string[] = [];
    const text = outboundText({ ...msg, text: toSlackText(msg.text) }, (n) => `*${toSlackText(n)}*`);
    for (const part of splitText(text, SLACK_MAX_TEXT)) {
      const answer = await this.call(
        'chat.postMessage',
        { channel, text: part, ...(thread ? { thread_ts: thread } : {}) },
        signal,
      );
      ids.push(String(answer.ts));
    }
    return { externalIds: ids };
  }

  /** A user's display name (`users.info`), or undefined if Slack does not say. */
  async userName(externalId: string, signal: AbortSignal): Promise<string | undefined> {
    const user = externalId.slice(externalId.indexOf(':') + 1);
    const answer = await this.call('users.info', { user }, signal, 'form');
    const u = answer.user as
      | { real_name?: string; name?: string; profile?: { display_name?: string } }
      | undefined;
    return u?.profile?.display_name || u?.real_name || u?.name || undefined;
  }

  private async call(
    method: string,
    body: Record<string, string>,
    signal: AbortSignal,
    as: 'json' | 'form' = 'json',
  ): Promise<Record<string, unknown>> {
    const res = await platformRequest(
      `${this.apiUrl}/${method}`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.token}`,
          'content-type':
            as === 'json' ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded',
        },
        body: as === 'json' ? JSON.stringify(body) : new URLSearchParams(body).toString(),
      },
      signal,
    );
    const answer = isObj(res.json) ? res.json : undefined;
    if (res.status === 200 && answer?.ok === true) return answer;
    if (res.status !== 200)
      throw statusError(`Slack ${method}`, res.status, res.text.slice(0, 200), retryAfterHeader(res.headers));
    const code = str(answer?.error) ? answer.error : 'unknown_error';
    throw statusError(`Slack ${method}`, RETRYABLE.has(code) ? 503 : 400, code);
  }
}
