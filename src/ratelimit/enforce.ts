import { Errors } from '../errors/errors.js';
import type { RateLimiter } from './rate-limiter.js';

/** Throws RATE_LIMITED (with `retryAfterMs`) when `key` is over its allowance. */
export async function enforceRateLimit(limiter: RateLimiter, key: string, what: string): Promise<void> {
  const wait = await limiter.consume(key);
  if (wait > 0) {
    throw Errors.rateLimited(`Too many ${what}; retry in ${Math.ceil(wait / 1000)}s`, { retryAfterMs: wait });
  }
}
