import type { BuildOptions } from '../../src/app.js';
import { newAdmin } from '../ai/ai-helpers.js';
import type { Backend } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { expectOk } from '../http/http-helpers.js';
import {
  bridgeEnv,
  type DiscordKeys,
  discordHeaders,
  discordKeys,
  type FakePlatforms,
  slackHeaders,
  startFakePlatforms,
  TELEGRAM_SECRET,
} from './fake-platforms.js';

export interface BridgeHarness {
  t: TestApp;
  fake: FakePlatforms;
  keys: DiscordKeys;
  admin: TestUser;
  close(): Promise<void>;
}

/** A server with every bridge on, talking to a local fake of the platforms' APIs. */
export async function startBridgeApp(
  backend: Backend,
  env: Record<string, string> = {},
  build: Omit<BuildOptions, 'logger' | 'pgSchema'> = {},
  fake?: FakePlatforms,
): Promise<BridgeHarness> {
  const platforms = fake ?? (await startFakePlatforms());
  const keys = discordKeys();
  const t = await startTestApp(
    backend,
    { RESUME_WAIT_MS: '50', ...bridgeEnv(platforms, keys), ...env },
    build,
  );
  const admin = await newAdmin(t);
  return {
    t,
    fake: platforms,
    keys,
    admin,
    async close() {
      await t.close();
      if (!fake) await platforms.close();
    },
  };
}

export function postTelegram(t: TestApp, update: unknown, secret = TELEGRAM_SECRET) {
  return t.api('POST', '/v1/bridges/telegram/webhook', {
    body: update,
    headers: { 'x-telegram-bot-api-secret-token': secret },
  });
}

export function postSlack(t: TestApp, body: unknown, headers?: Record<string, string>) {
  const raw = JSON.stringify(body);
  return t.api('POST', '/v1/bridges/slack/events', { body: raw, headers: headers ?? slackHeaders(raw) });
}

export function postDiscord(t: TestApp, body: unknown, keys: DiscordKeys, headers?: Record<string, string>) {
  const raw = JSON.stringify(body);
  return t.api('POST', '/v1/bridges/discord/interactions', {
    body: raw,
    headers: headers ?? discordHeaders(raw, keys),
  });
}

/** The bridged conversation of a platform conversation (as the admin API lists it). */
export async function conversationOf(t: TestApp, admin: TestUser, platform: string, externalId: string) {
  const r = await t.api('GET', `/v1/admin/bridges/conversations?platform=${platform}&limit=200`, {
    token: admin.token,
  });
  const found = expectOk(r).conversations.find((c: any) => c.externalId === externalId);
  if (!found) throw new Error(`no ${platform} conversation ${externalId}`);
  return found;
}

/** Puts `user` (the admin by default) into the conversation's room as an admin; returns the room id. */
export async function staffIn(
  t: TestApp,
  admin: TestUser,
  conversationId: string,
  user?: TestUser,
): Promise<string> {
  // The conversation row commits before its room (ingest opens the room right after), so a
  // caller that found the conversation may be a moment early: the API answers ROOM_NOT_FOUND.
  for (let attempt = 0; ; attempt++) {
    const r = await t.api('POST', `/v1/admin/bridges/conversations/${conversationId}/staff`, {
      token: admin.token,
      body: user ? { userId: user.userId } : {},
    });
    if (r.status === 404 && (r.body as any)?.error?.code === 'ROOM_NOT_FOUND' && attempt < 100) {
      await sleep(50);
      continue;
    }
    return expectOk(r).roomId;
  }
}

export async function roomHistory(t: TestApp, user: TestUser, roomId: string): Promise<any[]> {
  const r = await t.api('GET', `/v1/chat/rooms/${roomId}/messages?limit=100`, { token: user.token });
  return expectOk(r).messages;
}

/** A platform webhook answered 200 (platforms read any 2xx as "delivered"). */
export function accepted(r: { status: number; body: unknown }): void {
  if (r.status !== 200) throw new Error(`webhook answered ${r.status}: ${JSON.stringify(r.body)}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
