import { describe, expect, it } from 'vitest';
import { runFanout } from '../../bench/fanout.js';

/**
 * The fan-out benchmark at toy scale, for correctness only: every published message reaches every
 * subscriber, on Switchboard and on both peers. Times are not checked (see docs/benchmarks.md).
 */
describe('bench smoke: fan-out', () => {
  it.each(['rawws', 'socketio', 'switchboard'] as const)(
    '%s delivers every message to every subscriber',
    async (kind) => {
      const steps = await runFanout(kind, {
        subscribers: 20,
        stepMs: 400,
        workerCount: 2,
        maxRate: 50,
        startRate: 50,
        refine: 0,
      });
      expect(steps).toHaveLength(1);
      const [step] = steps;
      expect(step!.sent).toBeGreaterThan(5);
      expect(step!.received).toBe(step!.expected);
    },
    60_000,
  );
});
