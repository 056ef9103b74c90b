import { createHash } from 'node:crypto';
import type { RedisLike } from '../bus/redis-like.js';
import type { PresenceInfo, PresenceStatus, PresenceStore } from './presence-store.js';

export interface RedisPresenceStoreOptions {
  /** Ms a connection stays alive without a heartbeat (config PRESENCE_TTL is in seconds). */
  ttlMs: number;
  /** Key prefix shared by every node of one deployment. @default 'sb' */
  prefix?: string;
}

/*
 * Data layout (`P` = `<prefix>:presence`):
 *   P:conns:<userId>  ZSET connId -> expiry (epoch ms, Redis clock); the key itself expires with its
 *                     last member, so a crashed node's connections vanish within the TTL on their own
 *   P:user:<userId>   HASH status, custom (absent = null), lastSeen (epoch ms, caller's clock)
 *   P:online          ZSET userId -> 0: users with a live connection, in user id order (BYLEX paging)
 *   P:online:exp      ZSET userId -> latest expiry of the user's connections, to find users whose
 *                     connections all expired (pruned from both online sets on connect/online reads)
 * Every operation is one Lua script, so `first`/`last` are exact with any number of nodes. Expiry uses
 * Redis's clock (TIME), one clock for all nodes; the `now` callers pass only stamps lastSeen.
 * Scripts derive some keys from the prefix, so this needs a standalone Redis (or one cluster slot).
 */

const CLOCK = `local t = redis.call('TIME')
local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Makes sure the whole connection set lives at least `ttl` ms more. */
const EXTEND_CONNS_KEY = `local pttl = redis.call('PTTL', KEYS[1])
if pttl < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end`;

/** KEYS conns, user, online, onlineExp; ARGV userId, connId, ttl, now -> 1 if first. */
const CONNECT = `${CLOCK}
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', clock)
local first = redis.call('ZCARD', KEYS[1]) == 0
local exp = clock + ttl
redis.call('ZADD', KEYS[1], exp, ARGV[2])
${EXTEND_CONNS_KEY}
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('ZADD', KEYS[4], 'GT', exp, ARGV[1])
redis.call('HSET', KEYS[2], 'lastSeen', ARGV[4])
if first then return 1 end
return 0`;

/** KEYS conns, user, online, onlineExp; ARGV userId, connId, ttl, now. Refreshes a live connection only. */
const HEARTBEAT = `${CLOCK}
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', clock)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
local exp = clock + ttl
redis.call('ZADD', KEYS[1], 'XX', exp, ARGV[2])
${EXTEND_CONNS_KEY}
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('ZADD', KEYS[4], 'GT', exp, ARGV[1])
redis.call('HSET', KEYS[2], 'lastSeen', ARGV[4])
return 1`;

/**
 * KEYS conns, user, online, onlineExp; ARGV userId, connId, now -> 1 if it was the last.
 * An expired connection is already gone (like an unknown one): 0, and lastSeen stays.
 */
const DISCONNECT = `${CLOCK}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', clock)
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'lastSeen', ARGV[3])
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #latest == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[4], latest[2], ARGV[1])
return 0`;

/** ARGV prefix (`P`), userIds... -> per user {connections, status|false, custom|false, lastSeen|false}. */
const GET = `${CLOCK}
local out = {}
for i = 2, #ARGV do
  local u = ARGV[i]
  local n = redis.call('ZCOUNT', ARGV[1] .. ':conns:' .. u, '(' .. clock, '+inf')
  local h = redis.call('HMGET', ARGV[1] .. ':user:' .. u, 'status', 'custom', 'lastSeen')
  out[#out + 1] = {n, h[1], h[2], h[3]}
end
return out`;

/**
 * Drops users whose connections all expired (their node died without closing them) from the online
 * sets and queues them on KEYS[3] (`P:gone`), so a sweep announces each exactly once.
 */
const PRUNE = `${CLOCK}
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', clock)
for _, u in ipairs(expired) do
  local conns = ARGV[1] .. ':conns:' .. u
  redis.call('ZREMRANGEBYSCORE', conns, '-inf', clock)
  local latest = redis.call('ZRANGE', conns, -1, -1, 'WITHSCORES')
  if #latest == 0 then
    redis.call('ZREM', KEYS[1], u)
    redis.call('ZREM', KEYS[2], u)
    redis.call('RPUSH', KEYS[3], u)
  else
    redis.call('ZADD', KEYS[2], latest[2], u)
  end
end`;

/** KEYS online, onlineExp, gone; ARGV prefix (`P`) -> user ids that went offline since the last sweep. */
const SWEEP = `${PRUNE}
local gone = redis.call('LRANGE', KEYS[3], 0, -1)
redis.call('DEL', KEYS[3])
return gone`;

/** KEYS online, onlineExp, gone; ARGV prefix (`P`), offset, limit -> {total, userIds...}. */
const ONLINE = `${PRUNE}
local ids = redis.call('ZRANGE', KEYS[1], '-', '+', 'BYLEX', 'LIMIT', ARGV[2], ARGV[3])
table.insert(ids, 1, redis.call('ZCARD', KEYS[1]))
return ids`;

type ChosenStatus = Exclude<PresenceStatus, 'offline'>;
const CHOSEN: readonly string[] = ['online', 'away', 'busy'] satisfies ChosenStatus[];

/**
 * Presence shared by every node through Redis. Connections expire `ttlMs` after their last connect or
 * heartbeat, so those of a node that died without saying goodbye disappear on their own.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly p: string;
  private readonly ttlMs: number;
  private readonly shas = new Map<string, string>();

  constructor(
    private readonly redis: RedisLike,
    opts: RedisPresenceStoreOptions,
  ) {
    if (!(opts.ttlMs > 0)) throw new RangeError(`presence ttlMs must be positive, got ${opts.ttlMs}`);
    this.ttlMs = Math.ceil(opts.ttlMs);
    this.p = `${opts.prefix ?? 'sb'}:presence`;
  }

  async connect(userId: string, connId: string, now: number): Promise<{ first: boolean }> {
    const first = await this.run(CONNECT, this.userKeys(userId), [userId, connId, this.ttlMs, now]);
    return { first: first === 1 };
  }

  async heartbeat(userId: string, connId: string, now: number): Promise<void> {
    await this.run(HEARTBEAT, this.userKeys(userId), [userId, connId, this.ttlMs, now]);
  }

  async disconnect(userId: string, connId: string, now: number): Promise<{ last: boolean }> {
    const last = await this.run(DISCONNECT, this.userKeys(userId), [userId, connId, now]);
    return { last: last === 1 };
  }

  async setStatus(userId: string, status: ChosenStatus, customStatus: string | null): Promise<void> {
    const key = `${this.p}:user:${userId}`;
    // One script keeps status and custom status changing together.
    await this.run(
      `redis.call('HSET', KEYS[1], 'status', ARGV[1])
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'custom', ARGV[3]) else redis.call('HDEL', KEYS[1], 'custom') end
return 1`,
      [key],
      [status, customStatus === null ? '0' : '1', customStatus ?? ''],
    );
  }

  async get(userIds: readonly string[]): Promise<PresenceInfo[]> {
    if (userIds.length === 0) return [];
    const rows = (await this.run(GET, [], [this.p, ...userIds])) as [number, Bulk, Bulk, Bulk][];
    return userIds.map((userId, i) => {
      const [connections, status, custom, lastSeen] = rows[i] ?? [0, null, null, null];
      const chosen =
        typeof status === 'string' && CHOSEN.includes(status) ? (status as ChosenStatus) : 'online';
      return {
        userId,
        status: connections > 0 ? chosen : 'offline',
        customStatus: typeof custom === 'string' ? custom : null,
        lastSeen: typeof lastSeen === 'string' ? Number(lastSeen) : null,
        connections,
      };
    });
  }

  async sweep(): Promise<string[]> {
    const keys = [`${this.p}:online`, `${this.p}:online:exp`, `${this.p}:gone`];
    return (await this.run(SWEEP, keys, [this.p])) as string[];
  }

  async online(limit: number, offset: number): Promise<{ userIds: string[]; total: number }> {
    const keys = [`${this.p}:online`, `${this.p}:online:exp`, `${this.p}:gone`];
    const [total, ...userIds] = (await this.run(ONLINE, keys, [this.p, offset, limit])) as [
      number,
      ...string[],
    ];
    return { userIds, total };
  }

  private userKeys(userId: string): string[] {
    return [
      `${this.p}:conns:${userId}`,
      `${this.p}:user:${userId}`,
      `${this.p}:online`,
      `${this.p}:online:exp`,
    ];
  }

  /** EVALSHA, falling back to EVAL (which caches the script) the first time a server lacks it. */
  private async run(script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    let sha = this.shas.get(script);
    if (!sha) {
      sha = createHash('sha1').update(script).digest('hex');
      this.shas.set(script, sha);
    }
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
      return this.redis.eval(script, keys.length, ...keys, ...args);
    }
  }
}

/** A Redis bulk reply: nil arrives as null (ioredis maps Lua false to nil). */
type Bulk = string | null;
