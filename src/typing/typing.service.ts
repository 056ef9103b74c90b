import type { Bus } from '../bus/bus.js';

export interface TypingOptions {
  /** Ms after which an indicator expires without a new typing_start. */
  timeoutMs: number;
}

/**
 * Typing indicators: ephemeral, never stored. A typist's repeated typing_start frames are throttled
 * to one broadcast per third of the timeout; the indicator stops on typing_stop, on a sent message,
 * on disconnect, or when it expires.
 */
export class TypingService {
  private readonly active = new Map<string, { timer: NodeJS.Timeout; lastBroadcast: number }>();

  constructor(
    private readonly bus: Bus,
    private readonly opts: TypingOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Caller has checked membership. */
  start(userId: string, username: string, roomId: string): void {
    const key = `${roomId}\u0000${userId}`;
    const now = this.now();
    const cur = this.active.get(key);
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => this.stop(userId, username, roomId), this.opts.timeoutMs);
    timer.unref();
    const rebroadcast = !cur || now - cur.lastBroadcast >= this.opts.timeoutMs / 3;
    this.active.set(key, { timer, lastBroadcast: rebroadcast ? now : cur!.lastBroadcast });
    if (rebroadcast) this.broadcast(userId, username, roomId, true);
  }

  stop(userId: string, username: string, roomId: string): void {
    const key = `${roomId}\u0000${userId}`;
    const cur = this.active.get(key);
    if (!cur) return;
    clearTimeout(cur.timer);
    this.active.delete(key);
    this.broadcast(userId, username, roomId, false);
  }

  /** Stops every indicator of a user (their last connection closed). */
  stopAll(userId: string, username: string): void {
    for (const key of [...this.active.keys()]) {
      const [roomId, uid] = key.split('\u0000') as [string, string];
      if (uid === userId) this.stop(userId, username, roomId);
    }
  }

  close(): void {
    for (const { timer } of this.active.values()) clearTimeout(timer);
    this.active.clear();
  }

  private broadcast(userId: string, username: string, roomId: string, isTyping: boolean): void {
    this.bus.publishEphemeral(
      { roomId, exceptUserId: userId },
      {
        type: 'typing_indicator',
        roomId,
        userId,
        username,
        isTyping,
        ...(isTyping ? { expiresInMs: this.opts.timeoutMs } : {}),
      },
    );
  }
}
