import { Redis } from 'ioredis';
import type { RedisLike } from './redis-like.js';

export interface CreateRedisOptions {
  /** Shown by `CLIENT LIST`, e.g. 'sb-bus-sub'. @default none */
  connectionName?: string;
}

/**
 * A real Redis connection for the scale-out backends. It reconnects on its own (with a capped backoff)
 * and re-subscribes its channels; commands issued while it is down wait in its offline queue.
 * The bus needs two (a subscribed connection can run no other command); presence and rate limits
 * can share one.
 */
export function createRedis(url: string, opts: CreateRedisOptions = {}): RedisLike {
  return new Redis(url, {
    connectionName: opts.connectionName,
    // Reconnect after 50 ms, 100 ms, ... up to 2 s between attempts, forever.
    retryStrategy: (attempt) => Math.min(attempt * 50, 2000),
    // Fail a command after ~3 reconnect attempts rather than holding callers for long.
    maxRetriesPerRequest: 3,
  });
}
