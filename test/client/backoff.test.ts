import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { type ConnectionState, SwitchboardClient, type WebSocketLike } from '../../src/client/index.js';

/** A socket that never touches the network; the test plays the server. */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: Record<string, unknown>[] = [];
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {}
  /** The connection failed. */
  fail(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  /** The connection opened and the server resumed it. */
  resume(): void {
    this.readyState = 1;
    this.onopen?.({});
    this.onmessage?.({
      data: JSON.stringify({ type: 'resumed', id: 'resume', rooms: [], syncToken: 'e30' }),
    });
  }
}

/** Reconnect delays, read off the timers the client schedules (no clock is consulted). */
describe('client reconnect backoff (unit)', () => {
  let sockets: FakeSocket[];
  let setTimeoutSpy: MockInstance<typeof setTimeout>;
  let random: MockInstance<typeof Math.random>;
  let client: SwitchboardClient;
  let states: ConnectionState[];

  const initial = 100;
  const max = 1_000;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    random = vi.spyOn(Math, 'random');
    sockets = [];
    states = [];
    client = new SwitchboardClient({
      url: 'http://switchboard.invalid',
      token: 'tok',
      webSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      backoffMs: { initial, max },
    });
    client.on('state', (s) => states.push(s));
  });

  afterEach(() => {
    client.close();
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** Fails the current socket and returns the delay the client chose before its next attempt. */
  function failAndReadDelay(): number {
    const before = setTimeoutSpy.mock.calls.length;
    sockets.at(-1)!.fail();
    const calls = setTimeoutSpy.mock.calls.slice(before);
    expect(calls).toHaveLength(1);
    return calls[0]![1] as number;
  }

  /** Runs the pending reconnect timer: the client opens its next socket. */
  function fireReconnect(): void {
    const n = sockets.length;
    vi.runOnlyPendingTimers();
    expect(sockets).toHaveLength(n + 1);
  }

  const ceilings = [100, 200, 400, 800, 1000, 1000, 1000];

  it('with the lowest jitter, each delay is half of a doubling ceiling capped at max', () => {
    random.mockReturnValue(0);
    void client.connect().catch(() => {});
    const delays: number[] = [];
    for (let i = 0; i < ceilings.length; i++) {
      delays.push(failAndReadDelay());
      fireReconnect();
    }
    expect(delays).toEqual(ceilings.map((c) => c / 2));
  });

  it('with the highest jitter, each delay stays within the ceiling', () => {
    random.mockReturnValue(1 - Number.EPSILON);
    void client.connect().catch(() => {});
    for (const c of ceilings) {
      const d = failAndReadDelay();
      expect(d).toBeGreaterThan(c / 2);
      expect(d).toBeLessThanOrEqual(c);
      fireReconnect();
    }
  });

  it('stays within [ceiling/2, ceiling], never above max, however many attempts fail', () => {
    void client.connect().catch(() => {});
    const values = [0, 0.25, 0.5, 0.75, 0.999];
    for (let i = 0; i < 40; i++) {
      random.mockReturnValue(values[i % values.length]!);
      const d = failAndReadDelay();
      const ceiling = Math.min(max, initial * 2 ** i);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
      expect(Number.isFinite(d)).toBe(true);
      fireReconnect();
    }
  });

  it('starts over from the initial delay once a connection was resumed', () => {
    random.mockReturnValue(0);
    void client.connect();
    failAndReadDelay();
    fireReconnect();
    failAndReadDelay();
    fireReconnect();
    sockets.at(-1)!.resume();
    expect(client.state).toBe('open');
    expect(failAndReadDelay()).toBe(initial / 2);
    expect(states).toEqual(['connecting', 'reconnecting', 'open', 'reconnecting']);
  });

  it('a failing token provider is retried on the same schedule, without opening sockets', () => {
    random.mockReturnValue(0);
    let calls = 0;
    const c = new SwitchboardClient({
      url: 'http://switchboard.invalid',
      token: () => {
        calls++;
        throw new Error('no token');
      },
      webSocket: () => {
        throw new Error('no socket expected');
      },
      backoffMs: { initial, max },
    });
    void c.connect().catch(() => {});
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      expect(setTimeoutSpy.mock.calls).toHaveLength(i + 1);
      delays.push(setTimeoutSpy.mock.calls[i]![1] as number);
      vi.runOnlyPendingTimers();
    }
    expect(delays).toEqual([50, 100, 200, 400]);
    expect(calls).toBe(5);
    expect(c.state).toBe('reconnecting');
    c.close();
    const after = calls;
    vi.runOnlyPendingTimers();
    expect(calls).toBe(after);
  });

  it('close() cancels a scheduled reconnect', () => {
    random.mockReturnValue(0);
    void client.connect().catch(() => {});
    failAndReadDelay();
    client.close();
    vi.runOnlyPendingTimers();
    expect(sockets).toHaveLength(1);
    expect(client.state).toBe('closed');
  });
});
