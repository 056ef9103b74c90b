import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * `RateLimiter.consume` over a rate-limiter-flexible limiter (memory or Redis): 0 when allowed,
 * otherwise the ms to wait (at least 1). Other errors propagate.
 */
export async function consumeOrWait(
  limiter: RateLimiterAbstract,
  key: string,
  points: number,
): Promise<number> {
  try {
    await limiter.consume(key, points);
    return 0;
  } catch (res) {
    if (res instanceof RateLimiterRes) return Math.max(1, res.msBeforeNext);
    throw res;
  }
}
