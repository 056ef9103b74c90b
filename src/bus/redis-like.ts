/**
 * The part of a Redis client (ioredis) that the scale-out backends use, so core code does not depend on
 * the client library. `createRedis` (create-redis.ts) builds a real one.
 */
export interface RedisLike {
  /** ioredis connection state: 'wait' | 'connecting' | 'connect' | 'ready' | 'close' | 'reconnecting' | 'end'. */
  readonly status: string;

  publish(channel: string, message: string): Promise<number>;
  /** Resolves once Redis has confirmed every channel. */
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  /** Runs a Lua script already loaded by `eval`; rejects with a NOSCRIPT error otherwise. */
  evalsha(sha1: string, numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  /** Used by rate-limiter-flexible, which defines its own script command on the client. */
  defineCommand(name: string, definition: { numberOfKeys?: number; lua: string }): void;

  on(event: 'message', listener: (channel: string, message: string) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'ready' | 'close' | 'end', listener: () => void): this;
  off(event: 'message', listener: (channel: string, message: string) => void): this;
  off(event: 'error', listener: (err: Error) => void): this;
  off(event: 'ready' | 'close' | 'end', listener: () => void): this;

  /** Closes the connection after pending replies. */
  quit(): Promise<unknown>;
  /** Closes the connection now; `reconnect` true makes the client connect again. */
  disconnect(reconnect?: boolean): void;
}

/** Where the Redis backends report what they drop (pino's logger fits). */
export interface RedisBackendLogger {
  warn(obj: object, msg: string): void;
}
