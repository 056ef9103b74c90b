import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One local HTTP server standing in for the platforms' APIs, speaking their wire formats:
 * Telegram's Bot API (`/telegram/bot<token>/<method>`, `{ok, result}` / `{ok:false, error_code,
 * description, parameters}`), Slack's Web API (`/slack/api/<method>`, HTTP 200 with `{ok:false,
 * error}`, 429 with Retry-After) and Discord's REST API (`/discord/api/v10/...`, 429 with
 * `{retry_after}` in seconds). Every request is recorded; failures are scripted per method.
 */

export const TELEGRAM_TOKEN = '123456:telegram-test-token';
export const SLACK_BOT_TOKEN = 'xoxb-slack-test-token';
export const DISCORD_BOT_TOKEN = 'discord-test-token';
export const DISCORD_APP_ID = '1100000000000000001';

export interface PlatformRequest {
  platform: 'telegram' | 'slack' | 'discord' | 'callback';
  /** e.g. `sendMessage`, `chat.postMessage`, `POST /channels/42/messages`. */
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Raw body text. */
  raw: string;
  body: any;
}

/** A scripted answer: HTTP status, headers and JSON body. */
export interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export class FakePlatforms {
  readonly requests: PlatformRequest[] = [];
  private readonly scripts = new Map<string, Scripted[]>();
  private nextId = 1000;
  private server!: http.Server;
  baseUrl = '';
  /** Status the `/callback` endpoint answers (API-key callbacks). */
  callbackStatus = 200;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The next `count` calls of `method` (as recorded in `PlatformRequest.method`) get `answer`. */
  script(method: string, answer: Scripted, count = 1): void {
    const list = this.scripts.get(method) ?? [];
    for (let i = 0; i < count; i++) list.push(answer);
    this.scripts.set(method, list);
  }

  of(platform: PlatformRequest['platform'], method?: string): PlatformRequest[] {
    return this.requests.filter(
      (r) => r.platform === platform && (method === undefined || r.method === method),
    );
  }

  async waitFor(
    what: string,
    pred: (rs: PlatformRequest[]) => boolean,
    ms = 10_000,
  ): Promise<PlatformRequest[]> {
    const end = Date.now() + ms;
    while (!pred(this.requests)) {
      if (Date.now() > end)
        throw new Error(
          `timed out waiting for ${what}; got ${JSON.stringify(this.requests.map((r) => r.method))}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.requests;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    let body: any;
    const type = req.headers['content-type'] ?? '';
    try {
      body = type.startsWith('application/x-www-form-urlencoded')
        ? Object.fromEntries(new URLSearchParams(raw))
        : raw
          ? JSON.parse(raw)
          : undefined;
    } catch {
      body = undefined;
    }
    const send = (a: Scripted) => {
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body));
    };
    const record = (platform: PlatformRequest['platform'], method: string): Scripted | undefined => {
      this.requests.push({ platform, method, path, headers: req.headers, raw, body });
      return this.scripts.get(method)?.shift();
    };

    let m = /^\/telegram\/bot([^/]+)\/(\w+)$/.exec(path);
    if (m) {
      const scripted = record('telegram', m[2]!);
      if (m[1] !== TELEGRAM_TOKEN)
        return send({ status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } });
      if (scripted) return send(scripted);
      return send({
        status: 200,
        body: {
          ok: true,
          result: {
            message_id: this.nextId++,
            chat: { id: Number(body?.chat_id) },
            date: 0,
            text: body?.text,
          },
        },
      });
    }
    m = /^\/slack\/api\/([\w.]+)$/.exec(path);
    if (m) {
      const scripted = record('slack', m[1]!);
      if (req.headers.authorization !== `Bearer ${SLACK_BOT_TOKEN}`)
        return send({ status: 200, body: { ok: false, error: 'invalid_auth' } });
      if (scripted) return send(scripted);
      if (m[1] === 'users.info') {
        return send({
          status: 200,
          body: {
            ok: true,
            user: { id: body?.user, name: 'jdoe', profile: { display_name: `Slack ${body?.user}` } },
          },
        });
      }
      return send({
        status: 200,
        body: {
          ok: true,
          channel: body?.channel,
          ts: `1700000000.${String(this.nextId++).padStart(6, '0')}`,
        },
      });
    }
    m = /^\/discord\/api\/v10(\/.*)$/.exec(path);
    if (m) {
      const route = m[1]!
        .replace(/\/webhooks\/\d+\/[^/]+/, '/webhooks/:app/:token')
        .replace(/\/channels\/\d+/, '/channels/:id');
      const method = `${req.method} ${route}`;
      const scripted = record('discord', method);
      const botAuth = req.headers.authorization === `Bot ${DISCORD_BOT_TOKEN}`;
      if (route.startsWith('/channels') && !botAuth)
        return send({ status: 401, body: { message: '401: Unauthorized', code: 0 } });
      if (scripted) return send(scripted);
      return send({ status: 200, body: { id: String(this.nextId++), content: body?.content } });
    }
    if (path === '/callback') {
      record('callback', 'callback');
      return send({ status: this.callbackStatus, body: { ok: this.callbackStatus < 300 } });
    }
    res.writeHead(404).end();
  }
}

export async function startFakePlatforms(): Promise<FakePlatforms> {
  return new FakePlatforms().start();
}

/** Env for a test app whose bridges talk to `fake`. */
export function bridgeEnv(fake: FakePlatforms, discordKey: DiscordKeys): Record<string, string> {
  return {
    // The fake listens on 127.0.0.1, which the SSRF guard of callback URLs refuses by default.
    WEBHOOK_ALLOW_PRIVATE: 'true',
    TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
    TELEGRAM_API_URL: `${fake.baseUrl}/telegram`,
    SLACK_SIGNING_SECRET: SLACK_SIGNING_SECRET,
    SLACK_BOT_TOKEN: SLACK_BOT_TOKEN,
    SLACK_API_URL: `${fake.baseUrl}/slack/api`,
    DISCORD_PUBLIC_KEY: discordKey.publicHex,
    DISCORD_APPLICATION_ID: DISCORD_APP_ID,
    DISCORD_BOT_TOKEN: DISCORD_BOT_TOKEN,
    DISCORD_API_URL: `${fake.baseUrl}/discord/api/v10`,
    BRIDGE_OUTBOUND_BACKOFF_MS: '20',
    BRIDGE_RELAY_INTERVAL_MS: '100',
    BRIDGE_AI_REPLIES: 'off',
  };
}

export const TELEGRAM_SECRET = 'tg_webhook_secret_0123456789';
export const SLACK_SIGNING_SECRET = 'slack-signing-secret-for-tests';

/** Slack's request signature headers for `body` at `tsSeconds`. */
export function slackHeaders(
  body: string,
  tsSeconds = Math.floor(Date.now() / 1000),
  secret = SLACK_SIGNING_SECRET,
) {
  const sig = createHmac('sha256', secret).update(`v0:${tsSeconds}:${body}`).digest('hex');
  return {
    'content-type': 'application/json',
    'x-slack-request-timestamp': String(tsSeconds),
    'x-slack-signature': `v0=${sig}`,
  };
}

export interface DiscordKeys {
  privateKey: KeyObject;
  publicHex: string;
}

/** A fresh Ed25519 application key pair. */
export function discordKeys(): DiscordKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
  return { privateKey, publicHex: Buffer.from(jwk.x, 'base64url').toString('hex') };
}

/** Discord's interaction signature headers for `body`. */
export function discordHeaders(body: string, keys: DiscordKeys, ts = String(Math.floor(Date.now() / 1000))) {
  const sig = sign(null, Buffer.from(ts + body), keys.privateKey).toString('hex');
  return { 'content-type': 'application/json', 'x-signature-ed25519': sig, 'x-signature-timestamp': ts };
}

let updateId = 1;
let telegramMessageId = 500;

/** A Telegram `Update` with a text message, as Telegram posts it. */
export function telegramUpdate(opts: {
  chatId: number;
  fromId: number;
  text: string;
  firstName?: string;
  chatTitle?: string;
  messageId?: number;
  replyTo?: number;
}) {
  return {
    update_id: updateId++,
    message: {
      message_id: opts.messageId ?? telegramMessageId++,
      from: { id: opts.fromId, is_bot: false, first_name: opts.firstName ?? 'Tess', language_code: 'en' },
      chat: opts.chatTitle
        ? { id: opts.chatId, type: 'group', title: opts.chatTitle }
        : { id: opts.chatId, type: 'private', first_name: opts.firstName ?? 'Tess' },
      date: Math.floor(Date.now() / 1000),
      text: opts.text,
      ...(opts.replyTo
        ? {
            reply_to_message: { message_id: opts.replyTo, chat: { id: opts.chatId, type: 'group' }, date: 0 },
          }
        : {}),
    },
  };
}

/** A Slack `event_callback` with a message event. */
export function slackEvent(opts: {
  channel: string;
  user?: string;
  text: string;
  ts: string;
  threadTs?: string;
  type?: 'message' | 'app_mention';
  botId?: string;
  subtype?: string;
  eventId?: string;
}) {
  return {
    token: 'verification-token-unused',
    team_id: 'T0001',
    api_app_id: 'A0001',
    type: 'event_callback',
    event_id: opts.eventId ?? `Ev${opts.ts.replace('.', '')}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T0001', user_id: 'UBOT', is_bot: true }],
    event: {
      type: opts.type ?? 'message',
      channel: opts.channel,
      channel_type: 'channel',
      ...(opts.user ? { user: opts.user } : {}),
      text: opts.text,
      ts: opts.ts,
      event_ts: opts.ts,
      ...(opts.threadTs ? { thread_ts: opts.threadTs } : {}),
      ...(opts.botId ? { bot_id: opts.botId } : {}),
      ...(opts.subtype ? { subtype: opts.subtype } : {}),
    },
  };
}

let interactionId = 9000;

/** A Discord APPLICATION_COMMAND interaction (`/ask question:<text>`) in a guild channel. */
export function discordCommand(opts: {
  channelId: string;
  userId: string;
  name?: string;
  text?: string;
  token?: string;
}) {
  const id = String(interactionId++);
  return {
    id,
    application_id: DISCORD_APP_ID,
    type: 2,
    token: opts.token ?? `interaction-token-${id}`,
    version: 1,
    guild_id: '300',
    channel_id: opts.channelId,
    channel: { id: opts.channelId, name: 'support', type: 0 },
    member: { user: { id: opts.userId, username: 'dora', global_name: 'Dora' }, roles: [] },
    data: {
      id: '77',
      name: opts.name ?? 'ask',
      type: 1,
      options: opts.text === undefined ? [] : [{ name: 'question', type: 3, value: opts.text }],
    },
  };
}
