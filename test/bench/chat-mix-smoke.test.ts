import { describe, expect, it } from 'vitest';
import { runChatMix } from '../../bench/chat-mix.js';

/**
 * The chat-mix benchmark at toy scale, for correctness only: every message reaches every other
 * member of its DM pair or room, on Switchboard and on both peers. Times are not checked.
 */
describe('bench smoke: chat mix', () => {
  it.each(['rawws', 'socketio', 'switchboard'] as const)(
    '%s delivers every message to every other member',
    async (kind) => {
      const r = await runChatMix(kind, { users: 40, rate: 40, durationMs: 600, workerCount: 2 });
      expect(r.sent).toBeGreaterThan(5);
      expect(r.expected).toBeGreaterThanOrEqual(r.sent);
      expect(r.received).toBe(r.expected);
    },
    60_000,
  );
});
