import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildSwitchboard } from '../src/app.js';
import type { Principal } from '../src/auth/principal.js';
import { loadConfig } from '../src/config/config.js';
import { dropSchema, PG_URL, postgresReachable, randomSchema } from '../test/helpers/backends.js';
import { flag, has, intFlag } from './harness/cli-args.js';

interface RunResult {
  scenario: 'group-commit';
  backend: 'sqlite' | 'postgres';
  mode: 'per-send-transaction' | 'group-commit';
  maxBatch: number;
  concurrency: number;
  messages: number;
  seconds: number;
  msgsPerSec: number;
}

/**
 * Persisted send throughput through MessagesService (auth checks, room log, commit) with
 * `concurrency` sends in flight over 50 rooms: one transaction per send vs group commit.
 */
export async function groupCommit(args: string[]): Promise<void> {
  const messages = intFlag(args, 'messages', has(args, 'quick') ? 2_000 : 20_000);
  const concurrency = 256;
  const only = flag(args, 'backend');
  const backends: ('sqlite' | 'postgres')[] = [];
  if (only !== 'postgres') backends.push('sqlite');
  if (only !== 'sqlite' && (await postgresReachable())) backends.push('postgres');
  const results: RunResult[] = [];
  for (const backend of backends) {
    // `--group-only` skips the per-send baseline (for profiling the group-commit path).
    for (const maxBatch of has(args, 'group-only') ? [256] : [1, 256]) {
      const r = await measure(backend, maxBatch, messages, concurrency);
      results.push(r);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    }
  }
  process.stdout.write(
    `\ngroup commit, ${messages} persisted sends, ${concurrency} in flight, ${cpus().length} cores\n`,
  );
  for (const backend of backends) {
    const base = results.find((r) => r.backend === backend && r.maxBatch === 1);
    const group = results.find((r) => r.backend === backend && r.maxBatch === 256)!;
    if (!base) {
      process.stdout.write(`  ${backend.padEnd(9)} group commit ${fmt(group.msgsPerSec)} msg/s\n`);
      continue;
    }
    process.stdout.write(
      `  ${backend.padEnd(9)} per-send tx ${fmt(base.msgsPerSec)} msg/s | group commit ${fmt(group.msgsPerSec)} msg/s | ratio ${(group.msgsPerSec / base.msgsPerSec).toFixed(2)}x\n`,
    );
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(7);

async function measure(
  backend: 'sqlite' | 'postgres',
  maxBatch: number,
  total: number,
  concurrency: number,
): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  const schema = backend === 'postgres' ? randomSchema() : undefined;
  const config = loadConfig({
    DATA_DIR: dir,
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-01',
    SEND_RATE_LIMIT: '1000000',
    GROUP_COMMIT_MAX_BATCH: String(maxBatch),
    GROUP_COMMIT_MAX_WAIT_MS: '2',
    DATABASE_POOL_SIZE: '20',
    ...(backend === 'postgres' ? { DATABASE_URL: PG_URL } : {}),
  });
  const sb = await buildSwitchboard(config, { logger: pino({ level: 'silent' }), pgSchema: schema });
  try {
    const owners: Principal[] = [];
    const rooms: string[] = [];
    for (let i = 0; i < 50; i++) {
      const u = await sb.users.create({ username: `bench${i}` });
      const p = { userId: u.userId, username: u.username, isAdmin: false };
      owners.push(p);
      rooms.push((await sb.rooms.create(p, { name: `room ${i}`, type: 'public' })).roomId);
    }
    // Warm-up: JIT, statement caches, pool connections.
    await Promise.all(rooms.map((roomId, i) => sb.messages.send(owners[i]!, roomId, { content: 'warm-up' })));

    let next = 0;
    const started = process.hrtime.bigint();
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const k = i % rooms.length;
        await sb.messages.send(owners[k]!, rooms[k]!, { content: `message ${i}`, clientMsgId: `c${i}` });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {
      scenario: 'group-commit',
      backend,
      mode: maxBatch === 1 ? 'per-send-transaction' : 'group-commit',
      maxBatch,
      concurrency,
      messages: total,
      seconds: Number(seconds.toFixed(3)),
      msgsPerSec: Math.round(total / seconds),
    };
  } finally {
    await sb.close();
    if (schema) await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  }
}
