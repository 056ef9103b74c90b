import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type LogEventFrame, SwitchboardClient } from '../../src/client/index.js';
import { availableBackends, PG_URL, randomSchema, redisReachable } from '../helpers/backends.js';
import { freePort, NodeProcess, RedisProcess } from './node-process.js';
import { TcpBalancer } from './tcp-balancer.js';

/**
 * Several `switchboard serve` processes on PostgreSQL + Redis, as an operator runs a cluster: users on
 * different nodes chat; a node is killed with SIGKILL mid-traffic; Redis is restarted mid-traffic.
 * Every acknowledged message must reach every member exactly once, in order.
 */
const ready = (await availableBackends()).includes('postgres') && (await redisReachable());

interface User {
  userId: string;
  token: string;
}

async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.runIf(ready)('cluster: 3 nodes on PostgreSQL + Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cluster-'));
  let redis: RedisProcess;
  let nodes: NodeProcess[] = [];
  let lb: TcpBalancer;
  const clients: SwitchboardClient[] = [];

  const api = async (node: NodeProcess, method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(node.url + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as { success: boolean; data: any; error?: unknown };
    if (!json.success) throw new Error(`${method} ${path}: ${JSON.stringify(json.error)}`);
    return json.data;
  };

  let userNo = 0;
  const newUser = async (node: NodeProcess): Promise<User> => {
    const d = await api(node, 'POST', '/v1/auth/register', undefined, {
      username: `cl${process.pid}x${++userNo}`,
      password: 'correct horse battery',
    });
    return { userId: d.user.userId, token: d.accessToken };
  };

  const client = (url: string, u: User) => {
    const c = new SwitchboardClient({
      url,
      token: u.token,
      webSocket: (w) => new WebSocket(w) as never,
      backoffMs: { initial: 50, max: 500 },
    });
    clients.push(c);
    return c;
  };

  /** Messages a client received per room, in arrival order. */
  const inbox = (c: SwitchboardClient) => {
    const got = new Map<string, string[]>();
    c.on('new_message', (f) => {
      const list = got.get(f.roomId) ?? [];
      list.push(f.message.content);
      got.set(f.roomId, list);
    });
    return got;
  };

  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const env = {
      DATABASE_URL: PG_URL,
      DATABASE_SCHEMA: randomSchema(),
      REDIS_URL: redis.url,
      REDIS_PREFIX: `cl${process.pid}`,
      JWT_SECRET: 'cluster-secret-cluster-secret-cluster-01',
      DATA_DIR: dir,
      RESUME_WAIT_MS: '50',
      PRESENCE_OFFLINE_GRACE_MS: '0',
      SEND_RATE_LIMIT: '100000',
      WS_FRAME_RATE: '100000',
      AUTH_RATE_LIMIT: '100000',
      API_RATE_LIMIT: '100000',
    };
    nodes = ports.map((p) => new NodeProcess(p, env));
    // The first node migrates; the others find the schema ready.
    await nodes[0]!.start();
    await Promise.all(nodes.slice(1).map((n) => n.start()));
    lb = new TcpBalancer(ports);
    await lb.listen();
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await lb?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('users on different nodes DM and chat in rooms; presence and typing cross nodes', async () => {
    const [n1, n2, n3] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    const [alice, bob, carol] = await Promise.all([newUser(n1), newUser(n2), newUser(n3)]);
    const room = await api(n1, 'POST', '/v1/chat/rooms', alice.token, {
      name: 'cluster room',
      type: 'private',
      memberIds: [bob.userId, carol.userId],
    });
    const a = client(n1.url, alice);
    const b = client(n2.url, bob);
    const c = client(n3.url, carol);
    const [ia, ib, ic] = [inbox(a), inbox(b), inbox(c)];
    const presence: string[] = [];
    a.on('presence_update', (f) => presence.push(`${f.userId}:${f.status}`));
    const typing: string[] = [];
    a.on('typing_indicator', (f) => typing.push(`${f.userId}:${f.isTyping}`));
    await a.connect();
    await Promise.all([b.connect(), c.connect()]);

    // Presence of bob (node 2) reaches alice (node 1): they share a small room.
    await waitUntil('presence of bob at alice', () => presence.includes(`${bob.userId}:online`));

    const dm = await a.send('hi bob', { toUserId: bob.userId });
    await b.send('hi all from node 2', { roomId: room.roomId });
    await c.send('hi all from node 3', { roomId: room.roomId });
    await waitUntil('DM at bob', () => ib.get(dm.roomId)?.includes('hi bob') ?? false);
    await waitUntil('room messages everywhere', () =>
      [ia, ib, ic].every((box) => (box.get(room.roomId)?.length ?? 0) === 2),
    );
    for (const box of [ia, ib, ic]) {
      expect(box.get(room.roomId)).toEqual(['hi all from node 2', 'hi all from node 3']);
    }

    await c.typing(room.roomId, true);
    await waitUntil('typing of carol at alice', () => typing.includes(`${carol.userId}:true`));

    c.close();
    await waitUntil('carol offline at alice', () => presence.includes(`${carol.userId}:offline`));
  }, 60_000);

  it('kill -9 of a node mid-traffic loses no acknowledged message', async () => {
    const entry = nodes[0]!;
    const users = await Promise.all(Array.from({ length: 6 }, () => newUser(entry)));
    const room = await api(entry, 'POST', '/v1/chat/rooms', users[0]!.token, {
      name: 'storm',
      type: 'group',
      memberIds: users.slice(1).map((u) => u.userId),
    });
    // Everyone connects through the balancer, so the six land on all three nodes.
    const cs = users.map((u) => client(`http://127.0.0.1:${lb.port}`, u));
    const boxes = cs.map(inbox);
    await Promise.all(cs.map((c) => c.connect()));

    const acked: string[][] = users.map(() => []);
    const perSender = 60;
    const senders = cs.slice(0, 3).map(async (c, k) => {
      for (let i = 0; i < perSender; i++) {
        const text = `s${k}-${i}`;
        await c.send(text, { roomId: room.roomId });
        acked[k]!.push(text);
        if (i === 20 && k === 0) {
          // Mid-traffic: the last node dies without a word; its clients reconnect through the balancer.
          await nodes[2]!.kill9();
          lb.setBackends([nodes[0]!.port, nodes[1]!.port]);
        }
      }
    });
    await Promise.all(senders);

    const expected = acked.flat();
    expect(expected.length).toBe(3 * perSender);
    await waitUntil('every member has every acknowledged message', () =>
      boxes.every((box) => (box.get(room.roomId)?.length ?? 0) >= expected.length),
    );
    const log = await api(entry, 'GET', `/v1/chat/rooms/${room.roomId}/messages?limit=100`, users[0]!.token);
    expect(log.pagination.hasMore).toBe(true); // more than one page: 180 messages
    for (const box of boxes) {
      const got = box.get(room.roomId)!;
      expect(new Set(got).size).toBe(got.length); // no duplicates
      expect([...got].sort()).toEqual([...expected].sort()); // nothing lost
      // Each sender's messages arrive in the order it sent them.
      for (let k = 0; k < 3; k++) {
        expect(got.filter((t) => t.startsWith(`s${k}-`))).toEqual(acked[k]);
      }
    }
    // All members saw the same order (the room log's).
    const first = boxes[0]!.get(room.roomId)!;
    for (const box of boxes) expect(box.get(room.roomId)).toEqual(first);
  }, 120_000);

  it('a Redis restart mid-traffic: delivery resumes and the gaps are repaired from the store', async () => {
    const [n1, n2] = nodes as [NodeProcess, NodeProcess];
    const [alice, bob] = await Promise.all([newUser(n1), newUser(n2)]);
    const room = await api(n1, 'POST', '/v1/chat/rooms', alice.token, {
      name: 'redis',
      type: 'private',
      memberIds: [bob.userId],
    });
    const a = client(n1.url, alice);
    const b = client(n2.url, bob);
    const ib = inbox(b);
    const seqs: number[] = [];
    b.on('event', (e: LogEventFrame) => e.roomId === room.roomId && seqs.push(e.seq));
    await Promise.all([a.connect(), b.connect()]);

    const sent: string[] = [];
    for (let i = 0; i < 10; i++)
      sent.push((await a.send(`before-${i}`, { roomId: room.roomId })) && `before-${i}`);
    await redis.stop();
    // Sends still commit to PostgreSQL; their fan-out to node 2 is lost with Redis.
    for (let i = 0; i < 10; i++)
      sent.push((await a.send(`during-${i}`, { roomId: room.roomId })) && `during-${i}`);
    await redis.start();
    for (let i = 0; i < 10; i++)
      sent.push((await a.send(`after-${i}`, { roomId: room.roomId })) && `after-${i}`);

    await waitUntil('bob has all 30', () => (ib.get(room.roomId)?.length ?? 0) >= 30, 60_000);
    expect(ib.get(room.roomId)).toEqual(sent);
    // Exactly once and in seq order, no gaps.
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
  }, 120_000);
});
