import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusMessage } from '../../src/bus/bus.js';
import { createRedis } from '../../src/bus/create-redis.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { RedisBus } from '../../src/bus/redis-bus.js';
import type { RoomEvent } from '../../src/events/room-event.js';
import type { RoomView } from '../../src/rooms/room-model.js';
import { availableServiceBackends, REDIS_URL, randomRedisPrefix } from '../helpers/backends.js';

/** Two nodes of one deployment. The in-process bus is a one-node deployment: `a` and `b` are the same bus. */
interface Cluster {
  a: Bus;
  b: Bus;
}

interface BusBackend {
  name: string;
  /**
   * A node receives only the rooms and users it watches (plus `all`), as a scale-out bus does. When false
   * (in process) every node receives every message, so "not delivered" is not part of its contract.
   */
  filtersByInterest: boolean;
  createCluster(): Promise<Cluster>;
  /** Breaks the bus's connection to its medium and lets it reconnect; absent for a bus without one. */
  dropConnection?(bus: Bus): Promise<void>;
  /** A bus whose medium is unreachable; absent for a bus without one. */
  createUnreachable?(): Bus;
  /** Closes what the test made. */
  cleanup(): Promise<void>;
}

const silent = { warn() {} };

function memoryBackend(): BusBackend {
  const made: Bus[] = [];
  return {
    name: 'memory',
    filtersByInterest: false,
    async createCluster() {
      const bus = new MemoryBus();
      made.push(bus);
      return { a: bus, b: bus };
    },
    async cleanup() {
      await Promise.all(made.splice(0).map((b) => b.close()));
    },
  };
}

function redisBackend(): BusBackend {
  const made: Bus[] = [];
  /** The subscriber connection's CLIENT SETNAME per bus, to find it in CLIENT LIST. */
  const subscriberNames = new Map<Bus, string>();
  return {
    name: 'redis',
    filtersByInterest: true,
    async createCluster() {
      const prefix = randomRedisPrefix();
      const node = async () => {
        const name = `sbtest-sub-${randomBytes(6).toString('hex')}`;
        const bus = new RedisBus(createRedis(REDIS_URL), createRedis(REDIS_URL, { connectionName: name }), {
          prefix,
          logger: silent,
        });
        made.push(bus);
        subscriberNames.set(bus, name);
        await bus.ready();
        return bus;
      };
      return { a: await node(), b: await node() };
    },
    async dropConnection(bus) {
      const name = subscriberNames.get(bus);
      const admin = new Redis(REDIS_URL);
      try {
        const list = (await admin.client('LIST')) as string;
        const line = list.split('\n').find((l) => l.includes(` name=${name} `));
        const id = /(?:^|\s)id=(\d+)/.exec(line ?? '')?.[1];
        if (!id) throw new Error(`subscriber connection ${name} not found`);
        await admin.client('KILL', 'ID', id);
      } finally {
        admin.disconnect();
      }
    },
    createUnreachable() {
      // Port 1: nothing listens; both clients keep retrying in the background until closed.
      const bus = new RedisBus(createRedis('redis://127.0.0.1:1'), createRedis('redis://127.0.0.1:1'), {
        logger: silent,
      });
      made.push(bus);
      return bus;
    },
    async cleanup() {
      await Promise.all(made.splice(0).map((b) => b.close()));
      subscriberNames.clear();
    },
  };
}

function id(kind: string): string {
  return `${kind}-${randomBytes(5).toString('hex')}`;
}

function deleted(roomId: string, seq: number): RoomEvent<'message_deleted'> {
  return {
    roomId,
    seq,
    type: 'message_deleted',
    actorId: 'u-actor',
    createdAt: 1_700_000_000_000 + seq,
    body: { messageId: `m${seq}`, deletedBy: 'u-actor' },
  };
}

function joined(roomId: string, seq: number, userId: string): RoomEvent<'user_joined'> {
  return {
    roomId,
    seq,
    type: 'user_joined',
    actorId: userId,
    createdAt: 1_700_000_000_000,
    body: { user: { userId, username: userId, displayName: userId }, role: 'member' },
  };
}

function created(roomId: string, actorId: string): RoomEvent<'room_created'> {
  return {
    roomId,
    seq: 1,
    type: 'room_created',
    actorId,
    createdAt: 1_700_000_000_000,
    body: { room: { roomId, name: 'r', createdBy: actorId } as RoomView },
  };
}

/** Everything a bus delivers to one listener. */
function record(bus: Bus) {
  const got: BusMessage[] = [];
  const off = bus.subscribe((m) => got.push(m));
  return {
    got,
    off,
    events: (roomId?: string) =>
      got.flatMap((m) => (m.kind === 'event' && (!roomId || m.event.roomId === roomId) ? [m.event] : [])),
    frames: () => got.flatMap((m) => (m.kind === 'ephemeral' ? [m.frame] : [])),
  };
}

/** Polls until `check` stops throwing; the timeout only bounds a failing test. */
async function eventually(check: () => void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** What every Bus must do; `backend` creates the buses under test. */
function busContract(backend: BusBackend): void {
  afterEach(() => backend.cleanup());

  it('delivers an event published on one node to a node watching its room, as published', async () => {
    const { a, b } = await backend.createCluster();
    const room = id('r');
    const rec = record(b);
    await b.watchRoom(room);
    const e = deleted(room, 1);
    a.publish([e]);
    await eventually(() => expect(rec.events()).toEqual([e]));
  });

  it('keeps publish order within a room', async () => {
    const { a, b } = await backend.createCluster();
    const room = id('r');
    const rec = record(b);
    await b.watchRoom(room);
    const seqs = Array.from({ length: 200 }, (_, i) => i + 1);
    for (let i = 0; i < seqs.length; i += 10) a.publish(seqs.slice(i, i + 10).map((s) => deleted(room, s)));
    await eventually(() => expect(rec.events(room).map((e) => e.seq)).toEqual(seqs));
  });

  it('delivers user_joined to a node watching the joined user, before it watches the room', async () => {
    const { a, b } = await backend.createCluster();
    const room = id('r');
    const user = id('u');
    const rec = record(b);
    await b.watchUser(user);
    const e = joined(room, 7, user);
    a.publish([e]);
    await eventually(() => expect(rec.events()).toEqual([e]));
  });

  it('delivers room_created to a node watching its creator', async () => {
    const { a, b } = await backend.createCluster();
    const room = id('r');
    const creator = id('u');
    const rec = record(b);
    await b.watchUser(creator);
    const e = created(room, creator);
    a.publish([e, joined(room, 2, creator)]);
    await eventually(() => expect(rec.events().map((x) => x.type)).toEqual(['room_created', 'user_joined']));
  });

  it('delivers a message once to a node that watches several of its channels', async () => {
    const { a, b } = await backend.createCluster();
    const room = id('r');
    const [u1, u2] = [id('u'), id('u')];
    const rec = record(b);
    await Promise.all([b.watchRoom(room), b.watchUser(u1), b.watchUser(u2)]);
    a.publish([joined(room, 3, u1)]);
    a.publishEphemeral({ userIds: [u1, u2] }, { type: 'presence_update', userId: u1 });
    a.publish([deleted(room, 4)]); // the last, so the repeats would have arrived before it
    await eventually(() => expect(rec.events(room).map((e) => e.seq)).toEqual([3, 4]));
    expect(rec.frames()).toEqual([{ type: 'presence_update', userId: u1 }]);
  });

  it('delivers ephemeral frames to room watchers with their audience', async () => {
    const { a, b } = await backend.createCluster();
    const room = id('r');
    const rec = record(b);
    await b.watchRoom(room);
    const frame = { type: 'typing_indicator', roomId: room, userId: 'u1', isTyping: true };
    a.publishEphemeral({ roomId: room, exceptUserId: 'u1' }, frame);
    await eventually(() =>
      expect(rec.got).toEqual([{ kind: 'ephemeral', to: { roomId: room, exceptUserId: 'u1' }, frame }]),
    );
  });

  it('delivers ephemeral frames for users to each watching node', async () => {
    const { a, b } = await backend.createCluster();
    const [u1, u2] = [id('u'), id('u')];
    const recA = record(a);
    const recB = record(b);
    await Promise.all([a.watchUser(u1), b.watchUser(u2)]);
    a.publishEphemeral({ userIds: [u1, u2] }, { type: 'ping', n: 1 });
    await eventually(() => {
      expect(recA.frames()).toEqual([{ type: 'ping', n: 1 }]);
      expect(recB.frames()).toEqual([{ type: 'ping', n: 1 }]);
    });
    expect(recB.got[0]).toEqual({
      kind: 'ephemeral',
      to: { userIds: [u1, u2] },
      frame: { type: 'ping', n: 1 },
    });
  });

  it('delivers `all` frames to every node without any watch', async () => {
    const { a, b } = await backend.createCluster();
    const recA = record(a);
    const recB = record(b);
    b.publishEphemeral({ all: true }, { type: 'announcement', text: 'hi' });
    await eventually(() => {
      expect(recA.frames()).toEqual([{ type: 'announcement', text: 'hi' }]);
      expect(recB.frames()).toEqual([{ type: 'announcement', text: 'hi' }]);
    });
  });

  it('resolves watches, repeated ones too', async () => {
    const { b } = await backend.createCluster();
    const room = id('r');
    const user = id('u');
    await b.watchRoom(room);
    await b.watchRoom(room);
    await b.watchUser(user);
    await b.watchUser(user);
    b.unwatchRoom(room);
    b.unwatchRoom(room);
    b.unwatchUser(user);
    await b.watchRoom(room);
  });

  it.skipIf(!backend.filtersByInterest)(
    'delivers nothing for rooms and users a node does not watch',
    async () => {
      const { a, b } = await backend.createCluster();
      const [watched, other, user] = [id('r'), id('r'), id('u')];
      const rec = record(b);
      await b.watchRoom(watched);
      a.publish([deleted(other, 1), joined(other, 2, user)]);
      a.publishEphemeral({ roomId: other }, { type: 'x' });
      a.publishEphemeral({ userIds: [user] }, { type: 'y' });
      // One publisher's messages arrive in order: once the marker is in, the others would have been too.
      a.publish([deleted(watched, 1)]);
      await eventually(() => expect(rec.events(watched)).toHaveLength(1));
      expect(rec.got).toHaveLength(1);
    },
  );

  it.skipIf(!backend.filtersByInterest)('stops delivering a room or user once unwatched', async () => {
    const { a, b } = await backend.createCluster();
    const [room, marker, user] = [id('r'), id('r'), id('u')];
    const rec = record(b);
    await Promise.all([b.watchRoom(room), b.watchUser(user), b.watchRoom(marker)]);
    a.publish([deleted(room, 1)]);
    await eventually(() => expect(rec.events(room)).toHaveLength(1));
    b.unwatchRoom(room);
    b.unwatchUser(user);
    // Unsubscribing is confirmed asynchronously: a watch issued after it resolves after it.
    await b.watchRoom(id('r'));
    a.publish([deleted(room, 2), joined(id('r'), 1, user)]);
    a.publishEphemeral({ userIds: [user] }, { type: 'y' });
    a.publish([deleted(marker, 1)]);
    await eventually(() => expect(rec.events(marker)).toHaveLength(1));
    expect(rec.got).toHaveLength(2);
  });

  it('isolates listeners: a throwing one neither stops the others nor later deliveries', async () => {
    const { a, b } = await backend.createCluster();
    const room = id('r');
    b.subscribe(() => {
      throw new Error('listener bug');
    });
    const rec = record(b);
    await b.watchRoom(room);
    a.publish([deleted(room, 1)]);
    a.publish([deleted(room, 2)]);
    await eventually(() => expect(rec.events(room).map((e) => e.seq)).toEqual([1, 2]));
  });

  it('stops calling a listener after it unsubscribes', async () => {
    const { a, b } = await backend.createCluster();
    const room = id('r');
    const gone = record(b);
    const stays = record(b);
    await b.watchRoom(room);
    gone.off();
    a.publish([deleted(room, 1)]);
    await eventually(() => expect(stays.events()).toHaveLength(1));
    expect(gone.got).toEqual([]);
  });

  it('never throws from publish, even once closed', async () => {
    const { a } = await backend.createCluster();
    await a.close();
    expect(() => a.publish([deleted(id('r'), 1)])).not.toThrow();
    expect(() => a.publishEphemeral({ all: true }, { type: 'x' })).not.toThrow();
  });

  it.runIf(backend.createUnreachable)('never throws from publish while its medium is down', async () => {
    const bus = backend.createUnreachable!();
    const listener = bus.onReconnect(() => {});
    expect(() => bus.publish([deleted(id('r'), 1), joined(id('r'), 1, 'u')])).not.toThrow();
    expect(() => bus.publishEphemeral({ userIds: ['u1', 'u2'] }, { type: 'x' })).not.toThrow();
    // Lets the client give the commands up: a rejection reaching the caller would fail the run.
    await new Promise((r) => setTimeout(r, 500));
    listener();
    await bus.close();
  });

  it.runIf(backend.dropConnection)('reports a regained connection and delivers again after it', async () => {
    const { a, b } = await backend.createCluster();
    const [room, user] = [id('r'), id('u')];
    const rec = record(b);
    let reconnects = 0;
    const off = b.onReconnect(() => reconnects++);
    await Promise.all([b.watchRoom(room), b.watchUser(user)]);
    a.publish([deleted(room, 1)]);
    await eventually(() => expect(rec.events(room)).toHaveLength(1));

    await backend.dropConnection!(b);
    await eventually(() => expect(reconnects).toBe(1), 10_000);
    // Reconnect listeners run once the watched channels are subscribed again: no sleep needed here.
    a.publish([deleted(room, 2), joined(id('r'), 1, user)]);
    a.publishEphemeral({ all: true }, { type: 'back' });
    await eventually(() => {
      expect(rec.events(room).map((e) => e.seq)).toEqual([1, 2]);
      expect(rec.events().filter((e) => e.type === 'user_joined')).toHaveLength(1);
      expect(rec.frames()).toEqual([{ type: 'back' }]);
    });
    off();
  });
}

const BACKENDS: Record<string, () => BusBackend> = { memory: memoryBackend, redis: redisBackend };

for (const name of await availableServiceBackends()) {
  describe(`Bus contract: ${name}`, () => busContract(BACKENDS[name]!()));
}
