import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableBackends,
  REDIS_URL,
  randomRedisPrefix,
  redisReachable,
  selectedServiceBackends,
} from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import {
  agentEnv,
  alive,
  finished,
  makeRemote,
  type Remote,
  remoteGit,
  startJob,
  until,
} from './agent-helpers.js';

// The scale-out path: jobs on BullMQ (Redis), progress and results over the Redis bus.
const run = selectedServiceBackends().includes('redis') && (await redisReachable());
const [backend] = await availableBackends();

describe.runIf(run && backend)('agent jobs on BullMQ and the Redis bus', () => {
  let t: TestApp;
  let remote: Remote;
  let owner: TestUser;
  const prefix = randomRedisPrefix();

  beforeAll(async () => {
    remote = makeRemote();
    t = await startTestApp(
      backend!,
      agentEnv(remote, {
        REDIS_URL,
        REDIS_PREFIX: prefix,
        AGENT_BUILD_COMMAND: 'node build.mjs',
      }),
    );
    owner = await t.newUser();
  });
  afterAll(async () => {
    await t?.close();
    remote?.cleanup();
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });

  it('runs a job end to end, and a newer instruction in the thread interrupts the running one', async () => {
    const room = await t.newRoom(owner);
    const pidfile = join(remote.dir, 'bull.pid');
    const first = await startJob(t, owner, {
      roomId: room.roomId,
      projectId: 'bull',
      repoUrl: remote.url,
      instruction: `pidfile=${pidfile} sleep=60000`,
    });
    const pid = await until('the agent to start', () => {
      try {
        return Number(readFileSync(pidfile, 'utf8')) || undefined;
      } catch {
        return undefined;
      }
    });
    const second = await startJob(t, owner, {
      roomId: room.roomId,
      projectId: 'bull',
      threadId: first.threadId,
      instruction: 'make the header gold',
    });
    const a = await finished(t, owner, first.jobId);
    const b = await finished(t, owner, second.jobId);
    expect(a).toMatchObject({ state: 'interrupted', result: { interrupted: true } });
    expect(alive(pid)).toBe(false);
    expect(b.result).toMatchObject({ success: true, summary: 'Made the header gold.' });
    expect(remoteGit(remote, 'show', `${b.branch}:src/style.css`)).toContain('color: gold');
  });
});
