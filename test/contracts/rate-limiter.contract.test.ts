import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/bus/create-redis.js';
import { MemoryRateLimiter } from '../../src/ratelimit/memory-rate-limiter.js';
import type { RateLimiter, RateLimitRule } from '../../src/ratelimit/rate-limiter.js';
import { RedisRateLimiter } from '../../src/ratelimit/redis-rate-limiter.js';
import { availableServiceBackends, REDIS_URL, randomRedisPrefix } from '../helpers/backends.js';

/** One limiter as two nodes see it. In process there is one node: `a` and `b` are the same limiter. */
interface Nodes {
  a: RateLimiter;
  b: RateLimiter;
}

interface RateLimiterBackend {
  name: string;
  /** A fresh limiter (empty counters) for `rule`, connected to its medium if it has one. */
  createNodes(rule: RateLimitRule): Promise<Nodes>;
  close(): Promise<void>;
}

function memoryBackend(): RateLimiterBackend {
  return {
    name: 'memory',
    async createNodes(rule) {
      const limiter = new MemoryRateLimiter(rule);
      return { a: limiter, b: limiter };
    },
    async close() {},
  };
}

function redisBackend(): RateLimiterBackend {
  const clients: Redis[] = [];
  /** A ready client: until then the limiter answers from its per-node fallback. */
  const client = async () => {
    const c = createRedis(REDIS_URL) as unknown as Redis;
    clients.push(c);
    await c.ping();
    return c;
  };
  return {
    name: 'redis',
    async createNodes(rule) {
      const prefix = randomRedisPrefix();
      return {
        a: new RedisRateLimiter(await client(), rule, { name: 'test', prefix }),
        b: new RedisRateLimiter(await client(), rule, { name: 'test', prefix }),
      };
    },
    async close() {
      await Promise.all(clients.splice(0).map((c) => c.quit()));
    },
  };
}

function key(): string {
  return `k-${randomBytes(5).toString('hex')}`;
}

/** What every RateLimiter must do; `backend` creates the limiters under test. */
function rateLimiterContract(backend: RateLimiterBackend): void {
  afterAll(() => backend.close());

  it('allows the window allowance, then asks to wait at most the window', async () => {
    const { a } = await backend.createNodes({ points: 3, duration: 60 });
    const k = key();
    expect([await a.consume(k), await a.consume(k), await a.consume(k)]).toEqual([0, 0, 0]);
    const wait = await a.consume(k);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60_000);
    expect(await a.consume(k)).toBeGreaterThan(0);
  });

  it('takes several points at once', async () => {
    const { a } = await backend.createNodes({ points: 5, duration: 60 });
    const k = key();
    expect(await a.consume(k, 4)).toBe(0);
    expect(await a.consume(k, 2)).toBeGreaterThan(0);
  });

  it('keeps keys apart', async () => {
    const { a } = await backend.createNodes({ points: 1, duration: 60 });
    const [k1, k2] = [key(), key()];
    expect(await a.consume(k1)).toBe(0);
    expect(await a.consume(k1)).toBeGreaterThan(0);
    expect(await a.consume(k2)).toBe(0);
  });

  it('shares one allowance between nodes', async () => {
    const { a, b } = await backend.createNodes({ points: 2, duration: 60 });
    const k = key();
    expect(await a.consume(k)).toBe(0);
    expect(await b.consume(k)).toBe(0);
    expect(await a.consume(k)).toBeGreaterThan(0);
    expect(await b.consume(k)).toBeGreaterThan(0);
  });

  it('keeps limiters apart', async () => {
    const strict = await backend.createNodes({ points: 1, duration: 60 });
    const loose = await backend.createNodes({ points: 10, duration: 60 });
    const k = key();
    expect(await strict.a.consume(k)).toBe(0);
    expect(await strict.a.consume(k)).toBeGreaterThan(0);
    expect(await loose.a.consume(k)).toBe(0);
  });

  it('allows again once the window has passed', async () => {
    const { a } = await backend.createNodes({ points: 1, duration: 1 });
    const k = key();
    expect(await a.consume(k)).toBe(0);
    const wait = await a.consume(k);
    expect(wait).toBeGreaterThan(0);
    // Wait as told, then poll: only the eventual outcome is checked, never a duration.
    await new Promise((r) => setTimeout(r, wait));
    const deadline = Date.now() + 5000;
    let next = await a.consume(k);
    while (next > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      next = await a.consume(k);
    }
    expect(next).toBe(0);
  });
}

const BACKENDS: Record<string, () => RateLimiterBackend> = { memory: memoryBackend, redis: redisBackend };

for (const name of await availableServiceBackends()) {
  describe(`RateLimiter contract: ${name}`, () => rateLimiterContract(BACKENDS[name]!()));
}
