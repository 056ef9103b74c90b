import { describe, expect, it } from 'vitest';
import { runStorm } from '../../bench/storm.js';

/**
 * The reconnect storm at toy scale, for correctness only: SDK clients whose sockets were killed
 * reconnect at once and each gets every message sent while it was away, once and in order, both
 * by replay on resume and (with a small replay window) by paging over REST. Times are not checked.
 */
describe('bench smoke: reconnect storm', () => {
  it.each([
    ['replayed on resume', 1000],
    ['paged over REST', 10],
  ])(
    'every client catches up with nothing lost, duplicated or out of order (%s)',
    async (_how, replayPerRoom) => {
      const r = await runStorm({ clients: 30, messages: 300, workerCount: 2, replayPerRoom });
      expect(r.complete).toBe(30);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.outOfOrder).toBe(0);
      if (replayPerRoom < 100) expect(r.paged).toBeGreaterThan(0);
      else expect(r.paged).toBe(0);
    },
    60_000,
  );
});
