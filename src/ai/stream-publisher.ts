import type { Bus } from '../bus/bus.js';

/** How an answer's stream ended (the `status` of its last `ai_stream` frame). */
export type StreamEnd = 'answered' | 'stopped' | 'failed';

/** The ephemeral `ai_stream` frame (docs/protocol.md#ai_stream). */
export interface AiStreamFrame {
  type: 'ai_stream';
  roomId: string;
  /** The answer's job id; the committed message carries it as `metadata.ai.streamId`. */
  streamId: string;
  /** The message being answered. */
  replyTo: string;
  /** 0, 1, 2... per run of the answer: a gap means a lost frame (the committed message is the truth). */
  index: number;
  /** Text to append. */
  delta: string;
  /** Drop what was shown so far (a provider failed mid-answer, or the job is retried), then append `delta`. */
  reset?: true;
  /** The last frame of the stream. */
  done?: true;
  status?: StreamEnd;
  /** With status `answered`: the committed `ai_response` message. */
  messageId?: string;
}

/**
 * Streams one answer's token deltas to the room's members as ephemeral `ai_stream` frames, at most
 * one frame per `intervalMs`: deltas arriving in between are batched into the next frame. Nothing
 * here is stored; the final answer is the committed `ai_response` message.
 */
export class StreamPublisher {
  private index = 0;
  private pending = '';
  private pendingReset = false;
  private lastSent = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly bus: Bus,
    private readonly base: { roomId: string; streamId: string; replyTo: string },
    private readonly intervalMs: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** The first frame (empty): clients can show that an answer is coming. `reset` on a retried run. */
  start(reset: boolean): void {
    this.pendingReset = reset;
    this.flush();
  }

  delta(text: string): void {
    if (this.ended) return;
    this.pending += text;
    this.schedule();
  }

  /** The provider failed mid-answer; another one starts over. */
  reset(): void {
    if (this.ended) return;
    this.pending = '';
    this.pendingReset = true;
    this.schedule();
  }

  /** The last frame. A stopped or failed stream also tells clients to drop the partial text. */
  finish(status: StreamEnd, messageId?: string): void {
    if (this.ended) return;
    if (status !== 'answered') {
      this.pending = '';
      this.pendingReset = true;
    }
    this.clearTimer();
    this.send({ done: true, status, ...(messageId ? { messageId } : {}) });
    this.ended = true;
  }

  /**
   * Ends without a last frame: the job goes back to the queue, and its next run starts with a reset.
   * With `reset`, clients are told at once to drop the partial text meanwhile.
   */
  abandon(reset = false): void {
    if (this.ended) return;
    this.clearTimer();
    if (reset) {
      this.pending = '';
      this.pendingReset = true;
      this.send({});
    }
    this.ended = true;
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = this.lastSent + this.intervalMs - this.clock();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
    this.timer.unref();
  }

  private flush(): void {
    if (this.ended) return;
    this.send({});
  }

  private send(extra: Partial<AiStreamFrame>): void {
    const frame: AiStreamFrame = {
      type: 'ai_stream',
      ...this.base,
      index: this.index++,
      delta: this.pending,
      ...(this.pendingReset ? { reset: true as const } : {}),
      ...extra,
    };
    this.pending = '';
    this.pendingReset = false;
    this.lastSent = this.clock();
    this.bus.publishEphemeral({ roomId: this.base.roomId }, frame as unknown as Record<string, unknown>);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
