import { describe, expect, it } from 'vitest';
import { GroupCommitter, type ItemResult } from '../../src/store/group-commit.js';

/** A flush that records each call's items and doubles numbers; `bad` items make the whole batch throw. */
function recorder(opts: { throwOn?: (n: number) => boolean; failOn?: (n: number) => boolean } = {}) {
  const calls: number[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const flush = async (items: number[]): Promise<ItemResult<number>[]> => {
    calls.push([...items]);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await new Promise((r) => setImmediate(r));
      if (opts.throwOn && items.some(opts.throwOn))
        throw new Error(`batch with bad item: ${items.join(',')}`);
      return items.map((n) =>
        opts.failOn?.(n) ? { ok: false, error: new Error(`item ${n} refused`) } : { ok: true, value: n * 2 },
      );
    } finally {
      inFlight -= 1;
    }
  };
  return { calls, flush, maxInFlight: () => maxInFlight };
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);

describe('GroupCommitter', () => {
  it('gathers concurrent submits into one flush', async () => {
    const rec = recorder();
    const gc = new GroupCommitter(rec.flush, { maxBatch: 100, maxWaitMs: 5 });
    const out = await Promise.all(range(10).map((n) => gc.submit(n)));
    expect(out).toEqual(range(10).map((n) => n * 2));
    expect(rec.calls).toEqual([range(10)]);
    await gc.close();
  });

  it('flushes each item on its own with maxWaitMs 0 when nothing is running', async () => {
    const rec = recorder();
    const gc = new GroupCommitter(rec.flush, { maxBatch: 100, maxWaitMs: 0 });
    expect(await gc.submit(1)).toBe(2);
    expect(await gc.submit(2)).toBe(4);
    expect(rec.calls).toEqual([[1], [2]]);
    await gc.close();
  });

  it('respects maxBatch and runs one batch at a time', async () => {
    const rec = recorder();
    const gc = new GroupCommitter(rec.flush, { maxBatch: 3, maxWaitMs: 5 });
    const out = await Promise.all(range(10).map((n) => gc.submit(n)));
    expect(out).toEqual(range(10).map((n) => n * 2));
    expect(rec.calls.every((c) => c.length <= 3)).toBe(true);
    expect(rec.calls.flat()).toEqual(range(10));
    expect(rec.calls).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(rec.maxInFlight()).toBe(1);
    await gc.close();
  });

  it('a full batch goes at once instead of waiting for the timer', async () => {
    const rec = recorder();
    const gc = new GroupCommitter(rec.flush, { maxBatch: 3, maxWaitMs: 10 * 60_000 });
    const full = range(3).map((n) => gc.submit(n));
    const waiting = gc.submit(3);
    expect(await Promise.all(full)).toEqual([0, 2, 4]);
    // The fourth item queued behind the running batch and goes right after it.
    expect(await waiting).toBe(6);
    // Let the previous run() finish unwinding, so the committer is idle.
    await new Promise((r) => setImmediate(r));
    const idle = gc.submit(4); // alone and below maxBatch: waits for the (long) timer
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(rec.calls).toEqual([[0, 1, 2], [3]]);
    await gc.close();
    expect(await idle).toBe(8);
    expect(rec.calls).toEqual([[0, 1, 2], [3], [4]]);
  });

  it('items arriving during a flush form the next batch', async () => {
    const rec = recorder();
    const gc = new GroupCommitter(rec.flush, { maxBatch: 100, maxWaitMs: 0 });
    const first = gc.submit(0); // runs at once, alone
    const rest = range(5, 1).map((n) => gc.submit(n)); // queue behind the running batch
    expect(await Promise.all([first, ...rest])).toEqual(range(6).map((n) => n * 2));
    expect(rec.calls).toEqual([[0], [1, 2, 3, 4, 5]]);
    await gc.close();
  });

  it('a batch that throws is retried item by item, so only the bad item rejects', async () => {
    const rec = recorder({ throwOn: (n) => n === 3 });
    const gc = new GroupCommitter(rec.flush, { maxBatch: 100, maxWaitMs: 5 });
    const settled = await Promise.allSettled(range(5).map((n) => gc.submit(n)));
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(settled.filter((s) => s.status === 'fulfilled').map((s) => s.value)).toEqual([0, 2, 4, 8]);
    const bad = settled[3] as PromiseRejectedResult;
    expect(String(bad.reason)).toMatch(/batch with bad item: 3/);
    expect(rec.calls).toEqual([range(5), [0], [1], [2], [3], [4]]);
    await gc.close();
  });

  it('a per-item failure result rejects only that item, without a retry', async () => {
    const rec = recorder({ failOn: (n) => n === 1 });
    const gc = new GroupCommitter(rec.flush, { maxBatch: 100, maxWaitMs: 5 });
    const settled = await Promise.allSettled(range(3).map((n) => gc.submit(n)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/item 1 refused/);
    expect(rec.calls).toEqual([range(3)]);
    await gc.close();
  });

  it('a single-item batch that throws rejects with the flush error', async () => {
    const err = new Error('db down');
    let calls = 0;
    const gc = new GroupCommitter<number, number>(
      async () => {
        calls += 1;
        throw err;
      },
      { maxBatch: 10, maxWaitMs: 0 },
    );
    await expect(gc.submit(1)).rejects.toBe(err);
    expect(calls).toBe(1);
    await gc.close();
  });

  it('rejects items the flush returned no result for', async () => {
    const gc = new GroupCommitter<number, number>(async (items) => [{ ok: true, value: items[0]! }], {
      maxBatch: 10,
      maxWaitMs: 5,
    });
    const settled = await Promise.allSettled([gc.submit(1), gc.submit(2)]);
    expect(settled[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(settled[1]?.status).toBe('rejected');
    await gc.close();
  });

  it('keeps working after a failed batch', async () => {
    const rec = recorder({ throwOn: (n) => n < 0 });
    const gc = new GroupCommitter(rec.flush, { maxBatch: 100, maxWaitMs: 0 });
    await expect(gc.submit(-1)).rejects.toThrow();
    expect(await gc.submit(21)).toBe(42);
    await gc.close();
  });

  it('close() drains queued items without waiting for the timer, then refuses new ones', async () => {
    const rec = recorder();
    // A wait far beyond the test timeout: only close() can get these committed in time.
    const gc = new GroupCommitter(rec.flush, { maxBatch: 100, maxWaitMs: 10 * 60_000 });
    const pending = range(5).map((n) => gc.submit(n));
    await gc.close();
    expect(rec.calls).toEqual([range(5)]);
    expect(await Promise.all(pending)).toEqual(range(5).map((n) => n * 2));
    await expect(gc.submit(9)).rejects.toThrow(/closed/);
    expect(rec.calls.flat()).not.toContain(9);
  });

  it('close() drains batches queued behind a running one', async () => {
    const rec = recorder();
    const gc = new GroupCommitter(rec.flush, { maxBatch: 2, maxWaitMs: 10 * 60_000 });
    const pending = range(5).map((n) => gc.submit(n));
    await gc.close();
    expect(rec.calls).toEqual([[0, 1], [2, 3], [4]]);
    expect(await Promise.all(pending)).toEqual(range(5).map((n) => n * 2));
    await expect(gc.submit(9)).rejects.toThrow(/closed/);
  });

  it('close() on an idle committer resolves', async () => {
    const rec = recorder();
    const gc = new GroupCommitter(rec.flush, { maxBatch: 2, maxWaitMs: 5 });
    await gc.close();
    expect(rec.calls).toEqual([]);
  });
});
