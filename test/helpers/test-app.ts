import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type BuildOptions, buildSwitchboard, type Switchboard } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { type Backend, PG_URL, randomSchema } from './backends.js';

export interface TestUser {
  userId: string;
  username: string;
  token: string;
  refreshToken: string;
}

export interface ApiResponse<T = any> {
  status: number;
  body: { success: boolean; data: T; error: { code: string; message: string; details?: unknown } };
  headers: Headers;
}

export interface TestApp {
  sb: Switchboard;
  backend: Backend;
  baseUrl: string;
  /** Real HTTP request against the listening server. `body` is JSON-encoded unless it is a string. */
  api<T = any>(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<ApiResponse<T>>;
  newUser(name?: string): Promise<TestUser>;
  newRoom(owner: TestUser, body?: Record<string, unknown>): Promise<any>;
  close(): Promise<void>;
}

let counter = 0;
export const uniqueName = (stem = 'user') =>
  `${stem}${process.pid}x${++counter}${Math.random().toString(36).slice(2, 6)}`;

/** A full server (HTTP on port 0) on a fresh SQLite file or a fresh PostgreSQL schema. */
export async function startTestApp(
  backend: Backend,
  env: Record<string, string> = {},
  build: Omit<BuildOptions, 'logger' | 'pgSchema'> = {},
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-test-'));
  // DATABASE_SCHEMA in env: several apps share one schema (a restart on the same store).
  const schema = backend === 'postgres' ? (env.DATABASE_SCHEMA ?? randomSchema()) : undefined;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dir,
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123',
    AUTH_RATE_LIMIT: '1000',
    SEND_RATE_LIMIT: '1000',
    API_RATE_LIMIT: '100000',
    ...(backend === 'postgres' ? { DATABASE_URL: PG_URL } : {}),
    ...env,
  });
  const sb = await buildSwitchboard(config, {
    ...build,
    logger: pino({ level: 'silent' }),
    pgSchema: schema,
  });
  const port = await sb.listen();
  const baseUrl = `http://127.0.0.1:${port}`;

  const api: TestApp['api'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { raw: text };
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };

  const newUser = async (name = uniqueName()): Promise<TestUser> => {
    const r = await api('POST', '/v1/auth/register', {
      body: { username: name, password: 'correct horse battery' },
    });
    if (r.status !== 201) throw new Error(`register failed: ${JSON.stringify(r.body)}`);
    return {
      userId: r.body.data.user.userId,
      username: name,
      token: r.body.data.accessToken,
      refreshToken: r.body.data.refreshToken,
    };
  };

  const newRoom = async (owner: TestUser, body: Record<string, unknown> = {}) => {
    const r = await api('POST', '/v1/chat/rooms', {
      token: owner.token,
      body: { name: uniqueName('room'), type: 'public', ...body },
    });
    if (r.status !== 201) throw new Error(`create room failed: ${JSON.stringify(r.body)}`);
    return r.body.data;
  };

  return {
    sb,
    backend,
    baseUrl,
    api,
    newUser,
    newRoom,
    async close() {
      await sb.close();
      // The schema is dropped by the global teardown (see global-setup.ts).
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
