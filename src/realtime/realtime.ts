import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import { isAppError } from '../errors/errors.js';
import { FRAME_HANDLERS, type FrameContext, type FrameServices, isServiceFrame } from './frame-handlers.js';
import type { Hub } from './hub.js';
import { type ClientFrame, CloseCodes, PROTOCOL_VERSION, parseClientFrame } from './protocol.js';
import { type Heads, type LogReader, type ResumeSummary, Session, type SessionOptions } from './session.js';
import { decodeSyncToken } from './sync-token.js';
import type { Transport } from './transport.js';

export interface RealtimeOptions extends SessionOptions {
  /** Ms to wait for a `resume` before going live from the current heads. @default 1000 */
  autoStartMs: number;
  /** Frames a connection may send per second before getting RATE_LIMITED errors. */
  frameRate: number;
  /** Text frames longer than this (bytes) get a PAYLOAD_TOO_LARGE error; the connection stays. */
  maxFrameBytes: number;
  /** Interval at which transports ping, in ms (told to clients in `ready`). */
  heartbeatMs: number;
}

/**
 * The transport-agnostic core of real-time delivery. A transport (WebSocket, SSE, long-poll)
 * authenticates, then calls `open` and forwards inbound frames and the close to the connection.
 */
export class Realtime {
  constructor(
    private readonly hub: Hub,
    private readonly services: FrameServices,
    private readonly log: LogReader,
    private readonly logger: Logger,
    readonly opts: RealtimeOptions,
  ) {}

  get connectionCount(): number {
    return this.hub.connectionCount;
  }

  /**
   * Opens a connection. With `start` it starts right away (SSE, long-poll): from `start.cursors`, or
   * live from the current heads when there are none. Without it, it waits up to `autoStartMs` for the
   * client's `resume` frame (WebSocket).
   */
  async open(
    principal: Principal,
    transport: Transport,
    start?: { cursors?: Record<string, number> },
  ): Promise<Connection> {
    const session = new Session(principal, transport, this.log, this.opts);
    const conn = new Connection(session, this.hub, this.services, this.logger, this.opts);
    await conn.init(start);
    return conn;
  }
}

export class Connection {
  private heads: Heads | undefined;
  private started: Promise<ResumeSummary[]> | undefined;
  private autoStart: NodeJS.Timeout | undefined;
  /** Service frames run one at a time so a client's sends commit in the order it sent them. */
  private queue: Promise<void> = Promise.resolve();
  private windowStart = 0;
  private framesInWindow = 0;
  private closed = false;

  constructor(
    readonly session: Session,
    private readonly hub: Hub,
    private readonly services: FrameServices,
    private readonly logger: Logger,
    private readonly opts: RealtimeOptions,
  ) {}

  async init(start?: { cursors?: Record<string, number> }): Promise<void> {
    const p = this.session.principal;
    this.session.sendJson({
      type: 'ready',
      protocol: PROTOCOL_VERSION,
      sessionId: this.session.id,
      userId: p.userId,
      username: p.username,
      heartbeatMs: this.opts.heartbeatMs,
    });
    try {
      this.heads = await this.hub.add(this.session);
    } catch (err) {
      // The store is unreachable: leave nothing registered; the transport closes and the client retries.
      this.hub.remove(this.session);
      throw err;
    }
    await this.services.presence
      .connected(p.userId, this.session.id)
      .catch((err) => this.logger.warn({ err }, 'presence connect failed'));
    if (start) {
      await this.begin(start.cursors);
    } else {
      // The timer can expire in the same loop turn as a `resume` that is already in the socket's
      // buffer: timers run before I/O is read. Go one more turn (setImmediate runs after the poll
      // phase) so such a resume is read first and starts the connection from its cursors.
      this.autoStart = setTimeout(
        () =>
          setImmediate(() => {
            if (!this.started && !this.closed) void this.begin(undefined);
          }),
        this.opts.autoStartMs,
      );
      this.autoStart.unref();
    }
  }

  /** Liveness signal from the transport (a pong or any frame). */
  heartbeat(): void {
    void this.services.presence.heartbeat(this.session.userId, this.session.id).catch(() => {});
  }

  async onMessage(text: string): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.framesInWindow = 0;
    }
    // Every frame counts, the malformed and oversized ones too: each of those costs an error frame.
    if (++this.framesInWindow > this.opts.frameRate * 5) {
      // Far past the limit: a runaway or hostile client; it may reconnect and resume.
      this.session.close(CloseCodes.rateLimited.code, CloseCodes.rateLimited.reason);
      return;
    }
    if (Buffer.byteLength(text) > this.opts.maxFrameBytes) {
      this.error(undefined, 'PAYLOAD_TOO_LARGE', `Frame is larger than ${this.opts.maxFrameBytes} bytes`);
      return;
    }
    const parsed = parseClientFrame(text);
    if (!parsed.ok) {
      this.error(parsed.id, parsed.code, parsed.message);
      return;
    }
    const f = parsed.frame;
    if (this.framesInWindow > this.opts.frameRate && f.type !== 'ping') {
      this.error(f.id, 'RATE_LIMITED', `More than ${this.opts.frameRate} frames per second`, {
        retryAfterMs: 1000 - (now - this.windowStart),
      });
      return;
    }
    this.heartbeat();
    switch (f.type) {
      case 'ping':
        this.session.sendJson({ type: 'pong', ...(f.id !== undefined ? { id: f.id } : {}) });
        return;
      case 'auth':
        this.error(f.id, 'ALREADY_AUTHENTICATED', 'This connection is already authenticated');
        return;
      case 'resume':
        await this.onResume(f);
        return;
    }
    if (f.type === 'typing_start' || f.type === 'typing_stop') {
      await this.begin(undefined);
      await this.run(f); // ephemeral: no need to wait behind queued sends
      return;
    }
    // The start (for a client that never resumed) waits inside the queue, so a frame that arrives
    // while the first one waits for it cannot overtake it. A send holds the queue only until it is
    // queued for commit: batches commit in order, so the next send may start while it commits, and
    // one connection can have many sends in flight (acks still come after each commit, in order).
    let submitted: () => void = () => {};
    const queued = new Promise<void>((resolve) => {
      submitted = resolve;
    });
    const job = this.queue
      .then(() => this.begin(undefined))
      .then(() => this.run(f, { onSubmitted: submitted }));
    this.queue = Promise.race([queued, job]).catch(() => {});
    await job;
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.autoStart) clearTimeout(this.autoStart);
    const p = this.session.principal;
    const { lastOfUser } = this.hub.remove(this.session);
    if (lastOfUser) this.services.typing.stopAll(p.userId, p.username);
    void this.services.presence
      .disconnected(p.userId, this.session.id)
      .catch((err) => this.logger.warn({ err }, 'presence disconnect failed'));
  }

  /** Starts delivery once; the `resumed` frame echoes the id of the `resume` that started it, if any. */
  private begin(cursors: Record<string, number> | undefined, id?: string | number): Promise<ResumeSummary[]> {
    if (!this.started) {
      if (this.autoStart) clearTimeout(this.autoStart);
      this.started = this.session.start(this.heads ?? new Map(), cursors).then((rooms) => {
        this.resumed(id, rooms);
        return rooms;
      });
    }
    return this.started;
  }

  private resumed(id: string | number | undefined, rooms: ResumeSummary[]): void {
    this.session.sendJson({
      type: 'resumed',
      ...(id !== undefined ? { id } : {}),
      rooms,
      syncToken: this.session.syncToken(),
    });
  }

  private async onResume(f: Extract<ClientFrame, { type: 'resume' }>): Promise<void> {
    let cursors = f.cursors ?? {};
    if (f.syncToken !== undefined) {
      const decoded = decodeSyncToken(f.syncToken);
      if (!decoded) {
        this.error(f.id, 'INVALID_SYNC_TOKEN', 'syncToken is malformed');
        return;
      }
      cursors = { ...decoded, ...cursors };
    }
    if (!this.started) {
      await this.begin(cursors, f.id);
      return;
    }
    // Already live: resume only the named rooms (e.g. after paging a `room_behind` room via REST).
    await this.started;
    this.resumed(f.id, await this.session.resumeRooms(cursors, () => this.hub.heads(this.session.userId)));
  }

  private async run(f: ClientFrame, ctx: FrameContext = {}): Promise<void> {
    if (!isServiceFrame(f)) return;
    try {
      const handler = FRAME_HANDLERS[f.type] as (
        s: FrameServices,
        p: typeof this.session.principal,
        f: ClientFrame,
        ctx: FrameContext,
      ) => Promise<Record<string, unknown>>;
      const result = await handler(this.services, this.session.principal, f, ctx);
      this.ack(f.id, { for: f.type, ...result });
    } catch (err) {
      if (isAppError(err)) {
        this.error(f.id, err.code, err.message, err.details);
      } else {
        this.logger.error({ err, frame: f.type }, 'frame handler failed');
        this.error(f.id, 'INTERNAL', 'Internal server error');
      }
    }
  }

  private ack(id: string | number | undefined, data: Record<string, unknown>): void {
    this.session.sendJson({ type: 'ack', ...(id !== undefined ? { id } : {}), ...data });
  }

  private error(
    id: string | number | undefined,
    code: string,
    message: string,
    details?: Record<string, unknown>,
  ): void {
    this.session.sendJson({
      type: 'error',
      ...(id !== undefined ? { id } : {}),
      code,
      message,
      ...(details ? { details } : {}),
    });
  }
}
