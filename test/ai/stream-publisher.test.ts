import { describe, expect, it } from 'vitest';
import { StreamPublisher } from '../../src/ai/stream-publisher.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';

function setup(intervalMs: number) {
  const bus = new MemoryBus();
  const frames: Record<string, unknown>[] = [];
  bus.subscribe((m) => {
    if (m.kind === 'ephemeral') {
      expect(m.to).toEqual({ roomId: 'r1' });
      frames.push(m.frame);
    }
  });
  let clock = 0;
  const s = new StreamPublisher(
    bus,
    { roomId: 'r1', streamId: 'job1', replyTo: 'm1' },
    intervalMs,
    () => clock,
  );
  return { frames, s, advance: (ms: number) => (clock += ms) };
}

describe('StreamPublisher', () => {
  it('batches deltas within the interval and numbers frames', async () => {
    const { frames, s, advance } = setup(1_000_000);
    s.start(false);
    s.delta('a');
    s.delta('b');
    s.delta('c');
    advance(10);
    s.finish('answered', 'msg1');
    expect(frames).toEqual([
      { type: 'ai_stream', roomId: 'r1', streamId: 'job1', replyTo: 'm1', index: 0, delta: '' },
      {
        type: 'ai_stream',
        roomId: 'r1',
        streamId: 'job1',
        replyTo: 'm1',
        index: 1,
        delta: 'abc',
        done: true,
        status: 'answered',
        messageId: 'msg1',
      },
    ]);
  });

  it('sends at once when the interval has passed, and carries resets', () => {
    const { frames, s, advance } = setup(100);
    s.start(true);
    advance(100);
    s.delta('x');
    advance(100);
    s.reset();
    advance(100);
    s.delta('y');
    expect(frames.map((f) => [f.index, f.delta, f.reset ?? false])).toEqual([
      [0, '', true],
      [1, 'x', false],
      [2, '', true],
      [3, 'y', false],
    ]);
  });

  it('a stopped stream ends with a reset; nothing is sent after the end', () => {
    const { frames, s } = setup(1_000_000);
    s.start(false);
    s.delta('partial');
    s.finish('stopped');
    s.delta('late');
    s.finish('answered');
    expect(frames.at(-1)).toMatchObject({ index: 1, delta: '', reset: true, done: true, status: 'stopped' });
    expect(frames).toHaveLength(2);
  });

  it('abandon(true) tells clients to drop the partial text without ending the stream', () => {
    const { frames, s } = setup(1_000_000);
    s.start(false);
    s.delta('partial');
    s.abandon(true);
    expect(frames.at(-1)).toMatchObject({ index: 1, delta: '', reset: true });
    expect(frames.at(-1)).not.toHaveProperty('done');
  });
});
