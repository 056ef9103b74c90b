import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Bus } from './bus/bus.js';
import { createRedis } from './bus/create-redis.js';
import { MemoryBus } from './bus/memory-bus.js';
import { RedisBus } from './bus/redis-bus.js';
import type { Config } from './config/config.js';
import { MemoryPresenceStore } from './presence/memory-presence-store.js';
import type { PresenceStore } from './presence/presence-store.js';
import { RedisPresenceStore } from './presence/redis-presence-store.js';
import { BullmqJobQueue } from './queue/bullmq-job-queue.js';
import type { JobQueue } from './queue/job-queue.js';
import { StoreJobQueue } from './queue/store-job-queue.js';
import { MemoryRateLimiter } from './ratelimit/memory-rate-limiter.js';
import type { RateLimiter, RateLimitRule } from './ratelimit/rate-limiter.js';
import { RedisRateLimiter } from './ratelimit/redis-rate-limiter.js';
import type { Store } from './store/store.js';

/** The swappable backends of one node: in process (embedded default) or on Redis (scale-out). */
export interface Backends {
  kind: 'embedded' | 'redis';
  bus: Bus;
  /** Jobs for AI answers, agent runs and webhooks. */
  queue: JobQueue;
  presence: PresenceStore;
  /** A limiter per rule name; each name has its own counters. */
  limiter(name: string, rule: RateLimitRule): RateLimiter;
  close(): Promise<void>;
}

export async function createBackends(config: Config, logger: Logger, store: Store): Promise<Backends> {
  const onError = (err: unknown) => logger.error({ err }, 'job queue error');
  const useBullmq = (config.queue ?? (config.redisUrl ? 'bullmq' : 'store')) === 'bullmq';
  const queue: JobQueue =
    useBullmq && config.redisUrl
      ? new BullmqJobQueue(config.redisUrl, {
          prefix: `${config.redisPrefix}:jobs`,
          leaseMs: config.jobLeaseMs,
          onError,
        })
      : new StoreJobQueue(store, { leaseMs: config.jobLeaseMs, onError });
  if (!config.redisUrl) {
    return {
      kind: 'embedded',
      bus: new MemoryBus(),
      queue,
      presence: new MemoryPresenceStore(),
      limiter: (_name, rule) => new MemoryRateLimiter(rule),
      close: () => queue.close(),
    };
  }
  const url = config.redisUrl;
  const prefix = config.redisPrefix;
  const bus = new RedisBus(
    createRedis(url, { connectionName: 'sb-bus-pub' }),
    createRedis(url, { connectionName: 'sb-bus-sub' }),
    {
      prefix,
      nodeId: hostname(),
      logger: logger.child({ component: 'redis-bus' }),
    },
  );
  // Fail fast at start-up if Redis is unreachable, rather than serving without cross-node delivery.
  try {
    await bus.ready();
  } catch (err) {
    await bus.close();
    await queue.close();
    throw new Error(`Redis at REDIS_URL is unreachable: ${(err as Error).message}`);
  }
  const shared = createRedis(url, { connectionName: 'sb-state' });
  // ioredis reconnects by itself; without a listener each failed attempt is an "unhandled error event".
  let lastWarn = 0;
  shared.on('error', (err: Error) => {
    if (Date.now() - lastWarn < 5000) return;
    lastWarn = Date.now();
    logger.warn({ err: err.message }, 'redis (presence, rate limits) unavailable; retrying');
  });
  return {
    kind: 'redis',
    bus,
    queue,
    presence: new RedisPresenceStore(shared, { ttlMs: config.presenceTtl * 1000, prefix }),
    limiter: (name, rule) => new RedisRateLimiter(shared, rule, { name, prefix }),
    async close() {
      await queue.close();
      await bus.close();
      await shared.quit().catch(() => shared.disconnect());
    },
  };
}
