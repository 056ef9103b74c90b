import type { Bus } from '../bus/bus.js';

export const AGENT_STEPS = [
  'queued',
  'started',
  'workspace',
  'agent',
  'build',
  'publish',
  'commit',
  'push',
  'finished',
] as const;
export type AgentStep = (typeof AGENT_STEPS)[number];

export interface ProgressTarget {
  roomId: string;
  jobId: string;
  threadId: string;
  projectId: string;
}

const MAX_BATCH_LINES = 20;
const MAX_BATCH_CHARS = 4000;

/**
 * A job's progress as ephemeral `agent_progress` frames to the room's members (never logged). A new
 * step goes out at once; output lines are batched so one job sends at most one frame per
 * `intervalMs` (the latest lines win when a batch overflows).
 */
export class AgentProgress {
  private lines: string[] = [];
  private step: AgentStep = 'queued';
  private lastSent = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly bus: Bus,
    private readonly target: ProgressTarget,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Enters a step (flushing pending lines first). */
  enter(step: AgentStep, text?: string): void {
    if (this.closed) return;
    this.flush();
    this.step = step;
    this.send(text !== undefined ? [text] : []);
  }

  /** A line of output of the current step. */
  line(text: string): void {
    if (this.closed || text.trim() === '') return;
    this.lines.push(text);
    if (this.lines.length > MAX_BATCH_LINES) this.lines.splice(0, this.lines.length - MAX_BATCH_LINES);
    const wait = this.lastSent + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, wait);
      this.timer.unref();
    }
  }

  /** Sends what is pending and stops. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const lines = this.lines;
    this.lines = [];
    this.send(lines);
  }

  private send(lines: string[]): void {
    this.lastSent = this.now();
    let text = lines.join('\n');
    if (text.length > MAX_BATCH_CHARS) text = `...${text.slice(-MAX_BATCH_CHARS)}`;
    this.bus.publishEphemeral(
      { roomId: this.target.roomId },
      {
        type: 'agent_progress',
        ...this.target,
        step: this.step,
        ...(text ? { text } : {}),
        at: new Date(this.lastSent).toISOString(),
      },
    );
  }
}
