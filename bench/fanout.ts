/**
 * Fan-out: one room, N subscribers (default 1,000) spread over load-worker processes, a publisher
 * stepping its rate up until p99 delivery latency passes 100 ms (or deliveries fall short). Reports
 * the highest delivered msgs/s that stayed under the bar, for Switchboard (persisting every message)
 * and, in the same run, a raw `ws` broadcast server and Socket.IO 4.
 */
import { flag, has, intFlag, sleep, sourceAddress } from './harness/cli-args.js';
import { now } from './harness/clock.js';
import { connect, type TargetKind } from './harness/drivers.js';
import type { WorkerReport } from './harness/load-worker.js';
import { cpuSeconds, mergeReports, startTarget, startWorker } from './harness/processes.js';

interface Step {
  rate: number;
  sent: number;
  expected: number;
  received: number;
  deliveredPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverCpu: number;
  /** Cores the load generators used (all workers together). */
  clientCpu: number;
  ok: boolean;
}

const P99_LIMIT_MS = 100;

export async function fanout(args: string[]): Promise<void> {
  const quick = has(args, 'quick');
  const subscribers = intFlag(args, 'subscribers', quick ? 200 : 1000);
  const stepMs = intFlag(args, 'step-ms', quick ? 1500 : 5000);
  const workerCount = intFlag(args, 'workers', 2);
  const maxRate = intFlag(args, 'max-rate', quick ? 800 : 12_800);
  const startRate = intFlag(args, 'start-rate', 50);
  const refine = intFlag(args, 'refine', quick ? 3 : 0);
  const targets = (flag(args, 'targets') ?? 'rawws,socketio,switchboard').split(',') as TargetKind[];
  const results = new Map<TargetKind, { best: number; steps: Step[] }>();

  for (const kind of targets) {
    const steps = await runFanout(kind, { subscribers, stepMs, workerCount, maxRate, startRate, refine });
    const best = Math.max(0, ...steps.filter((s) => s.ok).map((s) => s.deliveredPerSec));
    results.set(kind, { best, steps });
    process.stdout.write(
      `${JSON.stringify({ scenario: 'fanout', target: kind, subscribers, stepMs, maxDeliveredPerSec: best, steps })}\n`,
    );
  }

  process.stdout.write(`\nfan-out, ${subscribers} subscribers in one room, p99 limit ${P99_LIMIT_MS} ms\n`);
  for (const [kind, r] of results) {
    process.stdout.write(
      `  ${kind.padEnd(12)} max ${Math.round(r.best).toLocaleString('en')} delivered msgs/s\n`,
    );
    for (const s of r.steps) {
      process.stdout.write(
        `    ${String(s.rate).padStart(6)}/s published: ${Math.round(s.deliveredPerSec).toLocaleString('en').padStart(10)} delivered/s, p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms, ${s.received}/${s.expected}, CPU server ${(s.serverCpu * 100).toFixed(0)}% clients ${(s.clientCpu * 100).toFixed(0)}%${s.ok ? '' : '  <- over'}\n`,
      );
    }
  }
  const sb = results.get('switchboard')?.best;
  for (const peer of ['rawws', 'socketio'] as const) {
    const p = results.get(peer)?.best;
    if (sb !== undefined && p) process.stdout.write(`  switchboard / ${peer}: ${(sb / p).toFixed(2)}×\n`);
  }
}

export async function runFanout(
  kind: TargetKind,
  o: {
    subscribers: number;
    stepMs: number;
    workerCount: number;
    maxRate: number;
    startRate: number;
    refine: number;
  },
): Promise<Step[]> {
  const target = await startTarget(kind);
  const workers = await Promise.all(Array.from({ length: o.workerCount }, () => startWorker()));
  const steps: Step[] = [];
  try {
    let room = 'bench';
    const pubToken = await target.token('publisher');
    if (kind === 'switchboard') {
      const res = await fetch(`${target.url}/v1/chat/rooms`, {
        method: 'POST',
        headers: { authorization: `Bearer ${pubToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `fanout-${Date.now()}`,
          type: 'public',
          maxMembers: o.subscribers + 10,
        }),
      });
      if (res.status !== 201) throw new Error(`create room: ${res.status} ${await res.text()}`);
      room = ((await res.json()) as { data: { roomId: string } }).data.roomId;
    }
    await Promise.all(
      workers.map(async (w, wi) => {
        const clients = [];
        for (let i = wi; i < o.subscribers; i += o.workerCount) {
          clients.push({ token: await target.token(`sub${i}`), localAddress: sourceAddress(i) });
        }
        await w.call({ cmd: 'connect', kind, url: target.url, clients, rooms: [room] });
      }),
    );
    const publisher = await connect(kind, {
      url: target.url,
      token: pubToken,
      rooms: [room],
      onMessage: () => {},
    });
    await sleep(1000); // let the joins' fan-out settle

    const pad = 'x'.repeat(80);
    const runStep = async (rate: number): Promise<Step> => {
      await Promise.all(workers.map((w) => w.call({ cmd: 'reset' })));
      const cpu0 = cpuSeconds(target.pid);
      const clientCpu0 = workers.reduce((sum, w) => sum + cpuSeconds(w.pid), 0);
      const t0 = now();
      let sent = 0;
      while (now() - t0 < o.stepMs) {
        const due = Math.floor(((now() - t0) / 1000) * rate);
        for (; sent < due; sent++) publisher.publish(room, `${now()}|${sent}|${pad}`);
        await sleep(5);
      }
      const elapsed = (now() - t0) / 1000;
      const expected = sent * o.subscribers;
      const merged = await drain(workers, expected);
      const wall = (now() - t0) / 1000;
      const cpu = (cpuSeconds(target.pid) - cpu0) / wall;
      const clientCpu = (workers.reduce((sum, w) => sum + cpuSeconds(w.pid), 0) - clientCpu0) / wall;
      const h = merged.histogram;
      return {
        rate,
        sent,
        expected,
        received: merged.received,
        deliveredPerSec: merged.received / elapsed,
        p50Ms: h.getValueAtPercentile(50) / 1000,
        p99Ms: h.getValueAtPercentile(99) / 1000,
        maxMs: h.maxValue / 1000,
        serverCpu: cpu,
        clientCpu,
        ok: h.getValueAtPercentile(99) / 1000 <= P99_LIMIT_MS && merged.received >= expected * 0.999,
      };
    };
    // Double the rate until a step fails, then (--refine N) try N rates between the last good
    // step and the failing one, so servers that fail at the same doubling still get told apart.
    let lastOk = 0;
    let failed = 0;
    for (let rate = o.startRate; rate <= o.maxRate; rate *= 2) {
      const step = await runStep(rate);
      steps.push(step);
      if (!step.ok) {
        failed = rate;
        break;
      }
      lastOk = rate;
    }
    if (failed > 0 && lastOk > 0) {
      for (let k = 1; k <= o.refine; k++) {
        const rate = Math.round(lastOk + ((failed - lastOk) * k) / (o.refine + 1));
        const step = await runStep(rate);
        steps.push(step);
        if (!step.ok) break;
      }
    }
    publisher.close();
    await Promise.all(workers.map((w) => w.call({ cmd: 'close' })));
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await target.stop();
  }
  return steps;
}

/** Waits until every expected delivery arrived, or the count stops moving for 2 s. */
async function drain(workers: Awaited<ReturnType<typeof startWorker>>[], expected: number) {
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
