import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { RedisLike } from '../bus/redis-like.js';
import { consumeOrWait } from './flexible.js';
import type { RateLimiter, RateLimitRule } from './rate-limiter.js';

export interface RedisRateLimiterOptions {
  /** Names this limiter's counters; limiters with different rules need different names (e.g. 'send'). */
  name: string;
  /** Key prefix shared by every node of one deployment. @default 'sb' */
  prefix?: string;
}

/**
 * Fixed-window limiter shared by every node through Redis (rate-limiter-flexible's RateLimiterRedis;
 * counters live at `<prefix>:ratelimit:<name>:<key>`). While Redis is unreachable each node falls back to
 * an in-memory limiter with the same rule, so limits loosen to per node instead of failing requests.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly limiter: RateLimiterRedis;

  /** `redis` must be an ioredis client (rate-limiter-flexible drives it through `defineCommand`). */
  constructor(redis: RedisLike, rule: RateLimitRule, opts: RedisRateLimiterOptions) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      useRedisPackage: false,
      keyPrefix: `${opts.prefix ?? 'sb'}:ratelimit:${opts.name}`,
      points: rule.points,
      duration: rule.duration,
      // Don't queue behind a reconnecting client: answer from the in-memory fallback at once.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ points: rule.points, duration: rule.duration }),
    });
  }

  consume(key: string, points = 1): Promise<number> {
    return consumeOrWait(this.limiter, key, points);
  }
}
