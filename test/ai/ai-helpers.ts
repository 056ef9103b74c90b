import { expect } from 'vitest';
import type { BuildOptions } from '../../src/app.js';
import type { Backend } from '../helpers/backends.js';
import {
  type FakeAiServer,
  type RecordedRequest,
  sleep,
  startFakeAnthropic,
  startFakeOpenAI,
} from '../helpers/fake-ai-servers/index.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { expectOk } from '../http/http-helpers.js';
import type { Frame } from '../realtime/ws-client.js';

export const ANTHROPIC_KEY = 'sk-ant-test';
export const OPENAI_KEY = 'sk-openai-test';

/** A server whose assistant talks to fake Anthropic and OpenAI servers (in that fallback order). */
export interface AiHarness {
  t: TestApp;
  anthropic: FakeAiServer;
  openai: FakeAiServer;
  bot: { userId: string; username: string; displayName: string };
  close(): Promise<void>;
}

export async function startAiApp(
  backend: Backend,
  env: Record<string, string> = {},
  build: Omit<BuildOptions, 'logger' | 'pgSchema'> = {},
): Promise<AiHarness> {
  const [anthropic, openai] = await Promise.all([
    startFakeAnthropic(ANTHROPIC_KEY),
    startFakeOpenAI(OPENAI_KEY),
  ]);
  const t = await startTestApp(
    backend,
    {
      RESUME_WAIT_MS: '50',
      AI_PROVIDERS: 'anthropic,openai',
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      ANTHROPIC_MODEL: 'claude-test',
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_MODEL: 'gpt-test',
      AI_STREAM_INTERVAL_MS: '20',
      AI_RETRY_BACKOFF_MS: '0',
      ...env,
    },
    build,
  );
  return {
    t,
    anthropic,
    openai,
    bot: t.sb.ai.bot,
    async close() {
      await t.close();
      await Promise.all([anthropic.close(), openai.close()]);
    },
  };
}

/** A public room with the assistant enabled (and any other settings). */
export async function aiRoom(
  t: TestApp,
  owner: TestUser,
  settings: Record<string, unknown> = {},
): Promise<any> {
  return t.newRoom(owner, { settings: { enableAI: true, ...settings } });
}

/** Messages of the room (oldest first), as `user` sees them. */
export async function roomMessages(t: TestApp, user: TestUser, roomId: string): Promise<any[]> {
  const r = await t.api('GET', `/v1/chat/rooms/${roomId}/messages?limit=100`, { token: user.token });
  return expectOk(r).messages;
}

/** Polls the room's history until `pred` holds for some message; returns it. */
export async function waitForMessage(
  t: TestApp,
  user: TestUser,
  roomId: string,
  pred: (m: any) => boolean,
  what = 'a message',
  ms = 10_000,
): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const found = (await roomMessages(t, user, roomId)).find(pred);
    if (found) return found;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Waits until `check` holds (polling); fails the test after `ms`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The bot's messages in a history page. */
export const fromBot = (messages: any[], botId: string) => messages.filter((m) => m.authorId === botId);

/** The text the last user turn of a recorded provider request carries (Anthropic or OpenAI Responses). */
export function lastUserText(req: RecordedRequest | undefined): string {
  expect(req, 'a provider request was recorded').toBeDefined();
  const body = req!.body;
  const turns: any[] = body.messages ?? body.input ?? [];
  const last = [...turns].reverse().find((m) => m.role === 'user');
  const content = last?.content;
  if (typeof content === 'string') return content;
  return (content ?? []).map((c: any) => c.text ?? '').join('');
}

/** System prompt of a recorded request. */
export function systemText(req: RecordedRequest): string {
  const body = req.body;
  if (Array.isArray(body.system)) return body.system.map((s: any) => s.text).join('');
  const sys = (body.input ?? []).find((m: any) => m.role === 'system');
  return typeof sys?.content === 'string' ? sys.content : '';
}

/** Every role/content turn of a recorded request, flattened to text (system first for OpenAI). */
export function turnsOf(req: RecordedRequest): { role: string; text: string }[] {
  const turns: any[] = req.body.messages ?? req.body.input ?? [];
  return turns.map((m) => ({
    role: m.role,
    text:
      typeof m.content === 'string' ? m.content : (m.content ?? []).map((c: any) => c.text ?? '').join(''),
  }));
}

/** Applies ai_stream frames as a client would; returns the text on screen. */
export function shownText(frames: Frame[]): string {
  let shown = '';
  for (const f of frames) shown = f.reset ? f.delta : shown + f.delta;
  return shown;
}

/** Resolves when the request's connection is closed; true if the client (the server under test) hung up. */
export async function hungUp(req: RecordedRequest | undefined): Promise<boolean> {
  if (!req) return false;
  await Promise.race([req.whenClosed, sleep(5_000)]);
  return req.closedByClient;
}

/** A token for a new server admin. */
export async function newAdmin(t: TestApp): Promise<TestUser> {
  const user = await t.sb.users.create({
    username: `adm${Math.random().toString(36).slice(2, 10)}`,
    isAdmin: true,
  });
  return {
    userId: user.userId,
    username: user.username,
    token: await t.sb.auth.tokenFor(user),
    refreshToken: '',
  };
}
