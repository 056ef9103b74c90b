import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/bus/create-redis.js';
import type { RedisLike } from '../../src/bus/redis-like.js';
import { MemoryPresenceStore } from '../../src/presence/memory-presence-store.js';
import type { PresenceStore } from '../../src/presence/presence-store.js';
import { RedisPresenceStore } from '../../src/presence/redis-presence-store.js';
import { availableServiceBackends, REDIS_URL, randomRedisPrefix } from '../helpers/backends.js';

/** Two nodes of one deployment. The in-process store is a one-node deployment: `a` and `b` are the same store. */
interface Nodes {
  a: PresenceStore;
  b: PresenceStore;
}

interface PresenceBackend {
  name: string;
  /**
   * Connections live `ttlMs` after their last connect or heartbeat (a crashed node's vanish on their own).
   * When false, connections end only by `disconnect`.
   */
  expires: boolean;
  /** Fresh, empty stores; `ttlMs` applies to stores that expire. */
  createNodes(opts?: { ttlMs?: number }): Nodes;
  close(): Promise<void>;
}

function memoryBackend(): PresenceBackend {
  return {
    name: 'memory',
    expires: false,
    createNodes() {
      const store = new MemoryPresenceStore();
      return { a: store, b: store };
    },
    async close() {},
  };
}

function redisBackend(): PresenceBackend {
  const clients: RedisLike[] = [];
  const prefixes: string[] = [];
  const client = () => {
    const c = createRedis(REDIS_URL);
    clients.push(c);
    return c;
  };
  return {
    name: 'redis',
    expires: true,
    createNodes({ ttlMs = 60_000 } = {}) {
      const prefix = randomRedisPrefix();
      prefixes.push(prefix);
      return {
        a: new RedisPresenceStore(client(), { ttlMs, prefix }),
        b: new RedisPresenceStore(client(), { ttlMs, prefix }),
      };
    },
    async close() {
      // Users' status hashes and the online sets have no TTL: remove this run's keys.
      const admin = new Redis(REDIS_URL);
      try {
        for (const prefix of prefixes.splice(0)) {
          const keys = await admin.keys(`${prefix}:*`);
          if (keys.length > 0) await admin.del(...keys);
        }
      } finally {
        admin.disconnect();
      }
      await Promise.all(clients.splice(0).map((c) => (c as unknown as Redis).quit()));
    },
  };
}

const T0 = 1_700_000_000_000;

/** Polls until `check` stops throwing; the timeout only bounds a failing test. */
async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** What every PresenceStore must do; `backend` creates the stores under test. */
function presenceContract(backend: PresenceBackend): void {
  afterAll(() => backend.close());

  it('reports the first connection and the last disconnection of a user across nodes', async () => {
    const { a, b } = backend.createNodes();
    expect(await a.connect('u1', 'c1', T0)).toEqual({ first: true });
    expect(await b.connect('u1', 'c2', T0 + 1)).toEqual({ first: false });
    expect(await a.connect('u2', 'c3', T0 + 2)).toEqual({ first: true });
    expect(await a.disconnect('u1', 'c1', T0 + 3)).toEqual({ last: false });
    expect(await b.disconnect('u1', 'c2', T0 + 4)).toEqual({ last: true });
    expect(await a.connect('u1', 'c4', T0 + 5)).toEqual({ first: true });
  });

  it('counts a connection once however often it connects, and ends it once', async () => {
    const { a, b } = backend.createNodes();
    await a.connect('u1', 'c1', T0);
    expect(await a.connect('u1', 'c1', T0 + 1)).toEqual({ first: false });
    expect((await b.get(['u1']))[0]!.connections).toBe(1);
    expect(await b.disconnect('u1', 'c1', T0 + 2)).toEqual({ last: true });
    expect(await a.disconnect('u1', 'c1', T0 + 3)).toEqual({ last: false });
    expect(await a.disconnect('u1', 'never', T0 + 4)).toEqual({ last: false });
    expect(await a.disconnect('nobody', 'c1', T0 + 5)).toEqual({ last: false });
  });

  it('describes users never seen as offline', async () => {
    const { a } = backend.createNodes();
    expect(await a.get(['ghost'])).toEqual([
      { userId: 'ghost', status: 'offline', customStatus: null, lastSeen: null, connections: 0 },
    ]);
    expect(await a.get([])).toEqual([]);
  });

  it('describes connected users with their connections and lastSeen, in the order asked', async () => {
    const { a, b } = backend.createNodes();
    await a.connect('u1', 'c1', T0);
    await b.connect('u1', 'c2', T0 + 10);
    await b.connect('u2', 'c3', T0 + 20);
    expect(await a.get(['u2', 'ghost', 'u1'])).toEqual([
      { userId: 'u2', status: 'online', customStatus: null, lastSeen: T0 + 20, connections: 1 },
      { userId: 'ghost', status: 'offline', customStatus: null, lastSeen: null, connections: 0 },
      { userId: 'u1', status: 'online', customStatus: null, lastSeen: T0 + 10, connections: 2 },
    ]);
  });

  it('keeps lastSeen at the last disconnection once offline', async () => {
    const { a, b } = backend.createNodes();
    await a.connect('u1', 'c1', T0);
    await b.connect('u1', 'c2', T0 + 1);
    await a.disconnect('u1', 'c1', T0 + 50);
    await b.disconnect('u1', 'c2', T0 + 90);
    expect(await a.get(['u1'])).toEqual([
      { userId: 'u1', status: 'offline', customStatus: null, lastSeen: T0 + 90, connections: 0 },
    ]);
  });

  it('moves lastSeen on heartbeats while connected, and a heartbeat alone connects nobody', async () => {
    const { a, b } = backend.createNodes();
    await a.connect('u1', 'c1', T0);
    await b.heartbeat('u1', 'c1', T0 + 500);
    expect((await a.get(['u1']))[0]).toMatchObject({ status: 'online', lastSeen: T0 + 500, connections: 1 });
    await a.heartbeat('u2', 'c9', T0 + 600);
    expect((await a.get(['u2']))[0]).toMatchObject({ status: 'offline', connections: 0 });
    expect((await a.online(10, 0)).userIds).toEqual(['u1']);
  });

  it('shows the chosen status and custom status while connected, and keeps them for later', async () => {
    const { a, b } = backend.createNodes();
    await a.connect('u1', 'c1', T0);
    await b.setStatus('u1', 'away', 'at lunch');
    expect((await a.get(['u1']))[0]).toMatchObject({ status: 'away', customStatus: 'at lunch' });
    await a.setStatus('u1', 'busy', null);
    expect((await b.get(['u1']))[0]).toMatchObject({ status: 'busy', customStatus: null });
    await a.setStatus('u1', 'online', 'back');
    expect((await b.get(['u1']))[0]).toMatchObject({ status: 'online', customStatus: 'back' });
    await a.setStatus('u1', 'away', 'gone fishing');
    await a.disconnect('u1', 'c1', T0 + 1);
    expect((await b.get(['u1']))[0]).toMatchObject({ status: 'offline', connections: 0 });
    await b.connect('u1', 'c2', T0 + 2);
    expect((await a.get(['u1']))[0]).toMatchObject({ status: 'away', customStatus: 'gone fishing' });
  });

  it('lists online users of every node by user id, with paging and the total', async () => {
    const { a, b } = backend.createNodes();
    expect(await a.online(10, 0)).toEqual({ userIds: [], total: 0 });
    await a.connect('carol', 'c1', T0);
    await b.connect('alice', 'c2', T0);
    await b.connect('dave', 'c3', T0);
    await a.connect('bob', 'c4', T0);
    await b.connect('bob', 'c5', T0);
    await a.connect('erin', 'c6', T0);
    await a.disconnect('erin', 'c6', T0 + 1);
    await a.disconnect('bob', 'c4', T0 + 1);
    expect(await a.online(10, 0)).toEqual({ userIds: ['alice', 'bob', 'carol', 'dave'], total: 4 });
    expect(await b.online(2, 0)).toEqual({ userIds: ['alice', 'bob'], total: 4 });
    expect(await b.online(2, 2)).toEqual({ userIds: ['carol', 'dave'], total: 4 });
    expect(await b.online(2, 4)).toEqual({ userIds: [], total: 4 });
  });

  it.runIf(backend.expires)('forgets connections not kept alive by heartbeats (a crashed node)', async () => {
    const { a, b } = backend.createNodes({ ttlMs: 300 });
    await a.connect('u1', 'c1', T0);
    await a.connect('u2', 'c2', T0 + 5);
    // node `a` dies here: no heartbeat, no disconnect
    await eventually(async () => {
      expect(await b.get(['u1', 'u2'])).toEqual([
        { userId: 'u1', status: 'offline', customStatus: null, lastSeen: T0, connections: 0 },
        { userId: 'u2', status: 'offline', customStatus: null, lastSeen: T0 + 5, connections: 0 },
      ]);
      expect(await b.online(10, 0)).toEqual({ userIds: [], total: 0 });
    });
    expect(await b.connect('u1', 'c3', T0 + 10)).toEqual({ first: true });
    expect(await b.online(10, 0)).toEqual({ userIds: ['u1'], total: 1 });
  });

  it('sweep hands each user whose connections expired to exactly one node', async () => {
    const { a, b } = backend.createNodes({ ttlMs: 300 });
    await a.connect('s1', 'c1', T0);
    await a.connect('s2', 'c2', T0);
    await a.disconnect('s2', 'c2', T0 + 1); // closed normally: announced by its own node, not swept
    if (!backend.expires) {
      // In-process presence sees every close; nothing can expire behind its back.
      expect(await a.sweep(T0)).toEqual([]);
      return;
    }
    // node `a` dies with s1 connected; the others sweep concurrently
    const seen: string[] = [];
    await eventually(async () => {
      const [fromA, fromB] = await Promise.all([a.sweep(T0), b.sweep(T0)]);
      seen.push(...fromA, ...fromB);
      expect(seen).toEqual(['s1']);
    });
    expect(await b.sweep(T0)).toEqual([]);
  });

  it.runIf(backend.expires)('keeps connections alive while heartbeats arrive', async () => {
    const { a, b } = backend.createNodes({ ttlMs: 400 });
    await a.connect('u1', 'c1', T0);
    await a.connect('u2', 'c2', T0);
    // Several TTLs with a heartbeat every tenth of one: u1 stays, u2 (no heartbeats) goes.
    const until = Date.now() + 1200;
    for (let i = 1; Date.now() < until; i++) {
      await a.heartbeat('u1', 'c1', T0 + i);
      expect((await b.get(['u1']))[0]).toMatchObject({ status: 'online', connections: 1 });
      await new Promise((r) => setTimeout(r, 40));
    }
    await eventually(async () => expect((await b.online(10, 0)).userIds).toEqual(['u1']));
    expect(await b.disconnect('u1', 'c1', T0 + 9999)).toEqual({ last: true });
  });

  it.runIf(backend.expires)(
    'keeps an expired connection gone: late heartbeats and disconnects change nothing',
    async () => {
      const { a, b } = backend.createNodes({ ttlMs: 200 });
      await a.connect('u1', 'c1', T0);
      await eventually(async () => expect((await b.get(['u1']))[0]!.connections).toBe(0));
      await a.heartbeat('u1', 'c1', T0 + 5);
      expect((await b.get(['u1']))[0]).toMatchObject({ status: 'offline', lastSeen: T0, connections: 0 });
      expect(await a.disconnect('u1', 'c1', T0 + 7)).toEqual({ last: false });
      expect(await b.online(10, 0)).toEqual({ userIds: [], total: 0 });
    },
  );
}

const BACKENDS: Record<string, () => PresenceBackend> = { memory: memoryBackend, redis: redisBackend };

for (const name of await availableServiceBackends()) {
  describe(`PresenceStore contract: ${name}`, () => presenceContract(BACKENDS[name]!()));
}
