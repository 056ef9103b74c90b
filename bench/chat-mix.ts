/**
 * Chat mix (issue 9, scenario 2): N users (default 5,000), each in one DM pair and one room of 10.
 * Every user's client sends: messages go at a fixed total rate (default 2,500 msgs/s) from a random
 * user into one of its two conversations, and every other member receives it. Reports end-to-end
 * latency (send time in the content, one clock for all processes) as HdrHistogram p50/p99/p999,
 * delivered vs expected, and server CPU, for Switchboard (persisting every message) and, in the same
 * run, a raw `ws` server and Socket.IO 4 (both route per room, persist nothing).
 */
import { readFileSync } from 'node:fs';
import { flag, has, intFlag, sleep, sourceAddress } from './harness/cli-args.js';
import { now } from './harness/clock.js';
import type { TargetKind } from './harness/drivers.js';
import type { WorkerReport } from './harness/load-worker.js';
import { cpuSeconds, type LoadWorker, mergeReports, startTarget, startWorker } from './harness/processes.js';

export interface ChatMixResult {
  target: TargetKind;
  users: number;
  rate: number;
  durationMs: number;
  sent: number;
  expected: number;
  received: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Cores used by the server process during the send phase and drain. */
  serverCpu: number;
  clientCpu: number;
  /** 1-minute load average at the end of the run (the machine may be shared). */
  loadAvg: number;
}

const P99_TARGET_MS = 50;

export async function chatMix(args: string[]): Promise<void> {
  const quick = has(args, 'quick');
  const users = intFlag(args, 'users', quick ? 500 : 5000);
  const rate = intFlag(args, 'rate', quick ? 500 : 2500);
  const durationMs = intFlag(args, 'duration', quick ? 5000 : 20_000);
  const workerCount = intFlag(args, 'workers', 3);
  const targets = (flag(args, 'targets') ?? 'rawws,socketio,switchboard').split(',') as TargetKind[];
  const results: ChatMixResult[] = [];
  for (const kind of targets) {
    const r = await runChatMix(kind, { users, rate, durationMs, workerCount });
    results.push(r);
    process.stdout.write(`${JSON.stringify({ scenario: 'chat-mix', ...r })}\n`);
  }
  process.stdout.write(
    `\nchat mix: ${users.toLocaleString('en')} users (DM pairs + rooms of 10), ${rate} msgs/s for ${durationMs / 1000} s\n`,
  );
  for (const r of results) {
    process.stdout.write(
      `  ${r.target.padEnd(12)} p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, p999 ${r.p999Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(0)} ms; ${r.received}/${r.expected} delivered; CPU server ${(r.serverCpu * 100).toFixed(0)}% clients ${(r.clientCpu * 100).toFixed(0)}%; load ${r.loadAvg.toFixed(2)}${r.target === 'switchboard' ? (r.p99Ms < P99_TARGET_MS ? '  (p99 target met)' : `  (p99 target ${P99_TARGET_MS} ms missed)`) : ''}\n`,
    );
  }
  const sb = results.find((r) => r.target === 'switchboard');
  for (const peer of results.filter((r) => r.target !== 'switchboard')) {
    if (!sb) break;
    process.stdout.write(
      `  switchboard / ${peer.target}: p50 ${(sb.p50Ms / peer.p50Ms).toFixed(2)}×, p99 ${(sb.p99Ms / peer.p99Ms).toFixed(2)}×, p999 ${(sb.p999Ms / peer.p999Ms).toFixed(2)}×, server CPU ${(sb.serverCpu / peer.serverCpu).toFixed(2)}× (lower is better)\n`,
    );
  }
}

/** The conversations of user `i`: its DM pair and its room of 10 (users must be a multiple of 10). */
export function conversationsOf(i: number): [string, string] {
  return [`dm-${i >> 1}`, `room-${Math.floor(i / 10)}`];
}

export async function runChatMix(
  kind: TargetKind,
  o: { users: number; rate: number; durationMs: number; workerCount: number },
): Promise<ChatMixResult> {
  if (o.users % 10 !== 0) throw new Error('--users must be a multiple of 10');
  const target = await startTarget(kind);
  const workers = await Promise.all(Array.from({ length: o.workerCount }, () => startWorker()));
  try {
    const tokens = await Promise.all(Array.from({ length: o.users }, (_, i) => target.token(`u${i}`)));
    // Names to ids: Switchboard rooms are created over REST by their first member.
    const ids = new Map<string, string>();
    const roomSize: Record<string, number> = {};
    const names: [string, number, number][] = []; // name, first member, size
    for (let i = 0; i < o.users; i += 2) names.push([`dm-${i >> 1}`, i, 2]);
    for (let i = 0; i < o.users; i += 10) names.push([`room-${i / 10}`, i, 10]);
    const queue = [...names];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let n = queue.shift(); n; n = queue.shift()) {
          const [name, first, size] = n;
          const id = kind === 'switchboard' ? await createRoom(target.url, tokens[first]!, name, size) : name;
          ids.set(name, id);
          roomSize[id] = size;
        }
      }),
    );
    await Promise.all(
      workers.map(async (w, wi) => {
        const clients = [];
        for (let i = wi; i < o.users; i += o.workerCount) {
          clients.push({
            token: tokens[i],
            localAddress: sourceAddress(i),
            rooms: conversationsOf(i).map((n) => ids.get(n)!),
            tag: `u${i}`,
          });
        }
        await w.call({ cmd: 'connect', kind, url: target.url, clients, rooms: [] });
      }),
    );
    await sleep(1500); // let the joins' fan-out settle
    await Promise.all(workers.map((w) => w.call({ cmd: 'reset' })));
    const cpu0 = cpuSeconds(target.pid);
    const clientCpu0 = workers.reduce((sum, w) => sum + cpuSeconds(w.pid), 0);
    const t0 = now();
    const sends = await Promise.all(
      workers.map((w) =>
        w.call<{ sent: number; expected: number }>({
          cmd: 'chat',
          rate: o.rate / o.workerCount,
          durationMs: o.durationMs,
          roomSize,
        }),
      ),
    );
    const sent = sends.reduce((a, s) => a + s.sent, 0);
    const expected = sends.reduce((a, s) => a + s.expected, 0);
    const merged = await drain(workers, expected);
    const wall = (now() - t0) / 1000;
    const h = merged.histogram;
    const result: ChatMixResult = {
      target: kind,
      users: o.users,
      rate: o.rate,
      durationMs: o.durationMs,
      sent,
      expected,
      received: merged.received,
      p50Ms: h.getValueAtPercentile(50) / 1000,
      p99Ms: h.getValueAtPercentile(99) / 1000,
      p999Ms: h.getValueAtPercentile(99.9) / 1000,
      maxMs: h.maxValue / 1000,
      serverCpu: (cpuSeconds(target.pid) - cpu0) / wall,
      clientCpu: (workers.reduce((sum, w) => sum + cpuSeconds(w.pid), 0) - clientCpu0) / wall,
      loadAvg: loadAverage(),
    };
    await Promise.all(workers.map((w) => w.call({ cmd: 'close' })));
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await target.stop();
  }
}

async function createRoom(url: string, token: string, name: string, size: number): Promise<string> {
  const res = await fetch(`${url}/v1/chat/rooms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `${name}-${Date.now()}`, type: 'public', maxMembers: size }),
  });
  if (res.status !== 201) throw new Error(`create room: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: { roomId: string } }).data.roomId;
}

export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

/** Waits until every expected delivery arrived, or the count stops moving for 2 s. */
async function drain(workers: LoadWorker[], expected: number) {
  let last = -1;
  let still = 0;
  for (;;) {
    const reports = await Promise.all(workers.map((w) => w.call<WorkerReport>({ cmd: 'report' })));
    const merged = mergeReports(reports);
    if (merged.received >= expected) return merged;
    still = merged.received === last ? still + 1 : 0;
    if (still >= 8) return merged;
    last = merged.received;
    await sleep(250);
  }
}
