import { RateLimiterMemory } from 'rate-limiter-flexible';
import { consumeOrWait } from './flexible.js';
import type { RateLimiter, RateLimitRule } from './rate-limiter.js';

/** In-process limiter for a single node. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(rule: RateLimitRule) {
    this.limiter = new RateLimiterMemory({ points: rule.points, duration: rule.duration });
  }

  consume(key: string, points = 1): Promise<number> {
    return consumeOrWait(this.limiter, key, points);
  }
}
