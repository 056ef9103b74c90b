import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiter, RateLimitRule } from './rate-limiter.js';

/** In-process limiter for a single node. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(rule: RateLimitRule) {
    this.limiter = new RateLimiterMemory({ points: rule.points, duration: rule.duration });
  }

  async consume(key: string, points = 1): Promise<number> {
    try {
      await this.limiter.consume(key, points);
      return 0;
    } catch (res) {
      if (res instanceof RateLimiterRes) return Math.max(1, res.msBeforeNext);
      throw res;
    }
  }
}
