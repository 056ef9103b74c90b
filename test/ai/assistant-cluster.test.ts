import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSwitchboard, type Switchboard } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import {
  availableBackends,
  PG_URL,
  REDIS_URL,
  randomRedisPrefix,
  randomSchema,
  redisReachable,
} from '../helpers/backends.js';
import { type FakeAiServer, startFakeAnthropic } from '../helpers/fake-ai-servers/index.js';
import { closeAll, is, WsClient } from '../realtime/ws-client.js';
import { ANTHROPIC_KEY, hungUp } from './ai-helpers.js';

/**
 * Two nodes on one PostgreSQL schema and one Redis (BullMQ queue, Redis bus): node A runs the AI
 * jobs, node B serves the user and runs none. The answer streams from A to B's socket over the bus,
 * and a `/stop` sent to B cancels the job running on A.
 */
const ready = (await availableBackends()).includes('postgres') && (await redisReachable());

describe.runIf(ready)('AI assistant across nodes (PostgreSQL + Redis)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-ai-cluster-'));
  const schema = randomSchema();
  const prefix = randomRedisPrefix().replace(/[^A-Za-z0-9_.:-]/g, '');
  let fake: FakeAiServer;
  let a: Switchboard;
  let b: Switchboard;
  let bUrl = '';
  const sockets: WsClient[] = [];

  const node = async (workers: number) => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      DATABASE_URL: PG_URL,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      JWT_SECRET: 'test-secret-test-secret-test-secret-0123',
      RESUME_WAIT_MS: '50',
      AI_PROVIDERS: 'anthropic',
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      ANTHROPIC_BASE_URL: fake.baseUrl,
      AI_WORKER_CONCURRENCY: String(workers),
      AI_STREAM_INTERVAL_MS: '20',
    });
    const sb = await buildSwitchboard(config, { logger: pino({ level: 'silent' }), pgSchema: schema });
    const port = await sb.listen();
    return { sb, url: `http://127.0.0.1:${port}` };
  };

  beforeAll(async () => {
    fake = await startFakeAnthropic(ANTHROPIC_KEY);
    a = (await node(2)).sb; // migrates first
    const nb = await node(0);
    b = nb.sb;
    bUrl = nb.url;
  });
  afterAll(async () => {
    await closeAll(sockets);
    await b?.close();
    await a?.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(bUrl + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as { success: boolean; data: any };
    if (!json.success) throw new Error(`${method} ${path}: ${JSON.stringify(json)}`);
    return json.data;
  };

  it('streams from the worker node to a socket on another node, and /stop there cancels the job', async () => {
    expect(a.ai.bot.userId).toBe(b.ai.bot.userId); // one bot user for the cluster
    const reg = await api('POST', '/v1/auth/register', undefined, {
      username: `aic${process.pid}${Date.now() % 100000}`,
      password: 'correct horse battery',
    });
    const token = reg.accessToken as string;
    const room = await api('POST', '/v1/chat/rooms', token, {
      name: 'cluster ai',
      type: 'public',
      settings: { enableAI: true },
    });
    const ws = await WsClient.connect(bUrl, { token });
    sockets.push(ws);
    await ws.next(is('ready'));
    await ws.next(is('resumed'));

    // A short answer first: it streams from node A and is committed once.
    fake.script({ kind: 'answer', chunks: ['from ', 'node ', 'A'], delayMs: 20 });
    const q1 = await api('POST', `/v1/chat/rooms/${room.roomId}/messages`, token, { content: '@ai hello' });
    const answer = await ws.next(
      (f) =>
        f.type === 'new_message' && f.message.type === 'ai_response' && f.message.replyTo === q1.messageId,
      15_000,
    );
    expect(answer.message.content).toBe('from node A');
    const streamId = answer.message.metadata.ai.streamId;
    expect(ws.all(is('ai_stream', { streamId })).length).toBeGreaterThanOrEqual(2);

    // A long answer, stopped from node B.
    fake.script({ kind: 'answer', chunks: Array.from({ length: 50 }, (_, i) => `w${i} `), delayMs: 100 });
    const q2 = await api('POST', `/v1/chat/rooms/${room.roomId}/messages`, token, {
      content: '@ai long story',
    });
    const first = await ws.next(
      (f) => f.type === 'ai_stream' && f.replyTo === q2.messageId && f.delta !== '',
      15_000,
    );
    await api('POST', `/v1/chat/rooms/${room.roomId}/messages`, token, { content: '/stop' });
    expect(await ws.next(is('ai_stream', { streamId: first.streamId, done: true }), 15_000)).toMatchObject({
      status: 'stopped',
    });
    expect(await hungUp(fake.requests.at(-1))).toBe(true);
    const history = await api('GET', `/v1/chat/rooms/${room.roomId}/messages?limit=100`, token);
    expect(history.messages.filter((m: any) => m.replyTo === q2.messageId)).toEqual([]);
  }, 60_000);
});
