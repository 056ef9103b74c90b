/** Fixed-window limiter keyed by caller; the embedded one is in memory, the scale-out one in Redis. */
export interface RateLimiter {
  /**
   * Takes `points` from `key`'s allowance for the current window.
   * Resolves with the ms to wait before retrying if the allowance is exhausted, otherwise 0.
   */
  consume(key: string, points?: number): Promise<number>;
}

export interface RateLimitRule {
  /** Points per window. */
  points: number;
  /** Window length in seconds. */
  duration: number;
}
