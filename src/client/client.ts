import { type CursorStore, MemoryCursorStore } from './cursor-store.js';
import { isLogEvent, type LogEventFrame, type ServerFrames, type ServerFrameType } from './frames.js';

/** The part of a WebSocket the client uses: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface ClientOptions {
  /** Server base URL, e.g. `http://localhost:8080` (the WebSocket URL is derived: `ws://.../ws`). */
  url: string;
  /** Access token, or a function returning a fresh one (called on every (re)connect). */
  token: string | (() => string | Promise<string>);
  /** Creates sockets; defaults to the global WebSocket (browsers, Node 22+). In Node 20 pass `(u) => new WebSocket(u)` from `ws`. */
  webSocket?: WebSocketFactory;
  /** Per-room cursors across connections. @default in memory */
  cursors?: CursorStore;
  /** fetch for REST paging of far-behind rooms. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Reconnect backoff: first delay and cap in ms; each delay is random between half and all of the doubling ceiling ("equal jitter"). @default 250 / 10_000 */
  backoffMs?: { initial: number; max: number };
  /** Ms to wait for an ack before a request fails (sends stay in the outbox). @default 15_000 */
  requestTimeoutMs?: number;
  /** Acknowledge delivery (mark_delivered) automatically as messages arrive. @default true */
  autoDelivered?: boolean;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export class SwitchboardError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'SwitchboardError';
  }
}

export interface SendOptions {
  roomId?: string;
  toUserId?: string;
  replyTo?: string;
  messageType?: string;
  /** Defaults to a random id; pass your own to make retries across page reloads idempotent. */
  clientMsgId?: string;
  /** Ids from `upload()`; content may then be empty. */
  attachments?: string[];
  /** Post under an alias in rooms with `settings.allowAnonymous`. */
  isAnonymous?: boolean;
  anonymousName?: string;
}

/** An uploaded attachment, ready to send (see `upload`). */
export interface UploadedAttachment {
  id: string;
  type: 'image' | 'file' | 'audio' | 'video';
  url: string;
  thumbnailUrl?: string;
  fileName: string;
  fileSize: number;
  mimeType: string;
  width: number | null;
  height: number | null;
}

export interface SendAck {
  roomId: string;
  messageId: string;
  seq: number;
  clientMsgId: string;
  duplicate: boolean;
}

type Listener<T> = (frame: T) => void;
type Pending = {
  frame: Record<string, unknown> & { id: string };
  resolve: (ack: Record<string, unknown>) => void;
  reject: (err: Error) => void;
  /** Sends survive reconnects (idempotent by clientMsgId); other requests fail on disconnect. */
  durable: boolean;
  timer?: ReturnType<typeof setTimeout>;
};

const OPEN = 1;
/** Close codes after which reconnecting cannot help until something changes. */
const FATAL_CLOSE = new Set([4401, 4403]);

/**
 * Switchboard client: one WebSocket with automatic reconnect (jittered exponential backoff), resume
 * from stored per-room cursors, exactly-once in-order delivery of log events (duplicates dropped by
 * seq), an outbox that re-sends unacknowledged messages with the same clientMsgId after reconnects,
 * and typed events.
 */
export class SwitchboardClient {
  private ws: WebSocketLike | undefined;
  private cursors: Record<string, number>;
  private readonly listeners = new Map<string, Set<Listener<never>>>();
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private attempt = 0;
  private stateValue: ConnectionState = 'closed';
  private stopped = true;
  /** Set by close() or a fatal close, until the next connect(): requests fail at once. */
  private ended = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private lastFrameAt = 0;
  private deliveredTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly paging = new Set<string>();
  /** Events that arrived past a gap in their room, waiting for the missing seqs (never skipped). */
  private readonly held = new Map<string, LogEventFrame[]>();
  /** Rooms with a gap-repair `resume` in flight. */
  private readonly repairing = new Set<string>();
  private readonly opts: Required<Omit<ClientOptions, 'webSocket' | 'fetch'>> &
    Pick<ClientOptions, 'webSocket' | 'fetch'>;

  /** The user this client is connected as (from the last `ready`). */
  userId: string | undefined;

  constructor(options: ClientOptions) {
    this.opts = {
      cursors: new MemoryCursorStore(),
      backoffMs: { initial: 250, max: 10_000 },
      requestTimeoutMs: 15_000,
      autoDelivered: true,
      ...options,
    };
    this.cursors = this.opts.cursors.load();
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Last seq seen per room. */
  get position(): Readonly<Record<string, number>> {
    return this.cursors;
  }

  /** Messages waiting for the server's ack (sent while offline, or in flight). */
  get outboxSize(): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.durable) n++;
    return n;
  }

  on<T extends ServerFrameType>(type: T, listener: Listener<ServerFrames[T]>): () => void;
  on(type: 'state', listener: Listener<ConnectionState>): () => void;
  on(type: 'event', listener: Listener<LogEventFrame>): () => void;
  on(type: string, listener: Listener<never>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Connects (and keeps reconnecting until `close()`). Resolves once the first `resumed` arrives. */
  connect(): Promise<void> {
    this.stopped = false;
    this.ended = false;
    return new Promise((resolve, reject) => {
      const offResumed = this.on('resumed', () => {
        offResumed();
        offState();
        resolve();
      });
      const offState = this.on('state', (s) => {
        if (s === 'closed') {
          offResumed();
          offState();
          reject(new SwitchboardError('CONNECT_FAILED', 'connection closed before it was ready'));
        }
      });
      void this.open();
    });
  }

  /** Closes for good; unacknowledged sends are rejected, and so are requests until `connect()` again. */
  close(): void {
    this.stopped = true;
    this.ended = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    for (const t of this.deliveredTimers.values()) clearTimeout(t);
    this.deliveredTimers.clear();
    this.ws?.close(1000, 'bye');
    this.ws = undefined;
    this.rejectAll(new SwitchboardError('CLIENT_CLOSED', 'client closed'));
    this.setState('closed');
  }

  private rejectAll(err: SwitchboardError): void {
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  /** Sends a message; resolves after the server committed it. Survives reconnects (same clientMsgId). */
  async send(content: string, o: SendOptions): Promise<SendAck> {
    const clientMsgId = o.clientMsgId ?? randomId();
    const ack = await this.request(
      {
        type: 'send_message',
        content,
        clientMsgId,
        ...(o.roomId ? { roomId: o.roomId } : {}),
        ...(o.toUserId ? { toUserId: o.toUserId } : {}),
        ...(o.replyTo ? { replyTo: o.replyTo } : {}),
        ...(o.messageType ? { messageType: o.messageType } : {}),
        ...(o.attachments?.length ? { attachments: o.attachments } : {}),
        ...(o.isAnonymous ? { isAnonymous: true } : {}),
        ...(o.anonymousName ? { anonymousName: o.anonymousName } : {}),
      },
      true,
    );
    return ack as unknown as SendAck;
  }

  /**
   * Uploads a file to a room and resolves with the ready attachment, to pass to `send` as
   * `attachments: [a.id]`. Asks for a signed URL over the socket (`upload_request`), PUTs the bytes
   * there (S3 or this server), and completes the upload.
   */
  async upload(
    roomId: string,
    data: Blob | Uint8Array,
    file: { fileName: string; mimeType: string },
  ): Promise<UploadedAttachment> {
    const size = data instanceof Uint8Array ? data.byteLength : data.size;
    const ack = (await this.request({ type: 'upload_request', roomId, ...file, size })) as {
      attachment: UploadedAttachment;
      upload: { url: string; method: string; headers: Record<string, string> };
    };
    const doFetch = this.opts.fetch ?? globalThis.fetch;
    const target = /^https?:/.test(ack.upload.url)
      ? ack.upload.url
      : this.opts.url.replace(/\/$/, '') + ack.upload.url;
    const res = await doFetch(target, {
      method: ack.upload.method,
      headers: ack.upload.headers,
      body: data as Blob,
    });
    if (!res.ok)
      throw new SwitchboardError('UPLOAD_FAILED', `upload failed: ${res.status} ${await res.text()}`);
    const done = (await this.request({
      type: 'upload_complete',
      roomId,
      attachmentId: ack.attachment.id,
    })) as {
      attachment: UploadedAttachment;
    };
    return done.attachment;
  }

  /** A short-lived URL for an attachment (or its thumbnail), for `<img src>` and downloads. */
  async attachmentUrl(attachmentId: string, variant: 'original' | 'thumbnail' = 'original'): Promise<string> {
    const ack = (await this.request({ type: 'download_request', attachmentId, variant })) as { url: string };
    return /^https?:/.test(ack.url) ? ack.url : this.opts.url.replace(/\/$/, '') + ack.url;
  }

  edit(roomId: string, messageId: string, content: string) {
    return this.request({ type: 'edit_message', roomId, messageId, content });
  }
  delete(roomId: string, messageId: string) {
    return this.request({ type: 'delete_message', roomId, messageId });
  }
  react(roomId: string, messageId: string, emoji: string, action: 'add' | 'remove' = 'add') {
    return this.request({ type: 'message_reaction', roomId, messageId, emoji, action });
  }
  pin(roomId: string, messageId: string, pinned = true) {
    return this.request({ type: 'pin_message', roomId, messageId, pinned });
  }
  typing(roomId: string, isTyping: boolean) {
    return this.request({ type: isTyping ? 'typing_start' : 'typing_stop', roomId });
  }
  markRead(roomId: string, seq = this.cursors[roomId] ?? 0) {
    return this.request({ type: 'mark_read', roomId, seq });
  }
  markDelivered(roomId: string, seq = this.cursors[roomId] ?? 0) {
    return this.request({ type: 'mark_delivered', roomId, seq });
  }
  joinRoom(roomId: string) {
    return this.request({ type: 'join_room', roomId });
  }
  leaveRoom(roomId: string) {
    return this.request({ type: 'leave_room', roomId });
  }
  setPresence(status: 'online' | 'away' | 'busy', customStatus?: string | null) {
    return this.request({ type: 'set_presence', status, customStatus: customStatus ?? null });
  }

  /** Sends a frame with a fresh id; resolves with its ack, rejects with its error. */
  request(frame: Record<string, unknown>, durable = false): Promise<Record<string, unknown>> {
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      if (this.ended) {
        reject(new SwitchboardError('CLIENT_CLOSED', 'client closed'));
        return;
      }
      const p: Pending = { frame: { ...frame, id }, resolve, reject, durable };
      this.pending.set(id, p);
      if (!durable) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new SwitchboardError('TIMEOUT', `no answer to ${String(frame.type)}`));
        }, this.opts.requestTimeoutMs);
      }
      if (this.stateValue === 'open') this.write(p.frame);
      else if (!durable) {
        this.pending.delete(id);
        if (p.timer) clearTimeout(p.timer);
        reject(new SwitchboardError('NOT_CONNECTED', 'not connected'));
      }
    });
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let token: string;
    try {
      token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return; // close() while the token was being fetched
    const wsUrl = `${this.opts.url.replace(/^http/, 'ws').replace(/\/$/, '')}/ws`;
    const factory =
      this.opts.webSocket ??
      ((u: string) =>
        new (globalThis as unknown as { WebSocket: new (u: string) => WebSocketLike }).WebSocket(u));
    const ws = factory(wsUrl);
    this.ws = ws;
    ws.onopen = () => {
      // Token in the first frame rather than the URL, so it never lands in access logs.
      ws.send(JSON.stringify({ type: 'auth', token }));
      ws.send(JSON.stringify({ type: 'resume', id: 'resume', cursors: this.cursors }));
      this.lastFrameAt = Date.now();
    };
    // A socket given up on (close(), or replaced) may still deliver frames while its close handshake
    // runs; they must not reach listeners or move the cursors.
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onFrame(String(ev.data));
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => this.onSocketClosed(ws, ev);
  }

  /** The socket is gone (closed by either side, or given up on by the heartbeat). */
  private onSocketClosed(ws: WebSocketLike, ev: { code: number; reason: string }): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    // The next connection resumes from the cursors, which replays whatever was held past a gap.
    this.held.clear();
    this.repairing.clear();
    this.stopHeartbeat();
    this.failInFlight();
    if (this.stopped) return;
    if (FATAL_CLOSE.has(ev.code) && typeof this.opts.token !== 'function') {
      const code = ev.code === 4401 ? 'UNAUTHORIZED' : 'FORBIDDEN_ORIGIN';
      this.emit('error', { type: 'error', code, message: ev.reason });
      this.stopped = true;
      this.ended = true;
      // Nothing will ever carry the outbox: fail it rather than leave its promises pending.
      this.rejectAll(new SwitchboardError(code, ev.reason || 'connection refused'));
      this.setState('closed');
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState('reconnecting');
    const { initial, max } = this.opts.backoffMs;
    const ceiling = Math.min(max, initial * 2 ** Math.min(this.attempt, 16));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => void this.open(), delay);
  }

  private onFrame(text: string): void {
    this.lastFrameAt = Date.now();
    let f: Record<string, unknown> & { type: string };
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    switch (f.type) {
      case 'ready':
        this.userId = f.userId as string;
        this.startHeartbeat(Number(f.heartbeatMs) || 25_000);
        break;
      case 'resumed':
        this.repaired(f as unknown as ServerFrames['resumed']);
        if (this.stateValue !== 'open') {
          this.attempt = 0;
          this.setState('open');
          // The outbox goes out again with the same clientMsgIds: the server answers duplicates with the stored message.
          for (const p of this.pending.values()) this.write(p.frame);
        }
        break;
      case 'room_behind':
        void this.catchUp(f as unknown as ServerFrames['room_behind']);
        break;
      case 'ack':
      case 'error':
        this.settle(f);
        break;
    }
    if (isLogEvent(f)) {
      this.receive(f, false);
      return;
    }
    this.emit(f.type, f);
  }

  /**
   * Exactly once, in order, never over a gap: what the cursor covers is dropped; an event past a gap
   * is held and the room is resumed from the cursor, so the server replays the missing seqs. Only
   * the store may skip seqs (`jump`: paged over REST, or a repair the server called complete, where
   * missing seqs were pruned by retention).
   */
  private receive(e: LogEventFrame, jump: boolean): void {
    const cursor = this.cursors[e.roomId];
    if (cursor !== undefined && e.seq <= cursor) return;
    if (cursor !== undefined && e.seq > cursor + 1 && !jump) {
      const held = this.held.get(e.roomId) ?? [];
      if (!held.some((h) => h.seq === e.seq)) held.push(e);
      this.held.set(e.roomId, held);
      this.repair(e.roomId);
      return;
    }
    this.accept(e);
    this.emit(e.type, e);
    this.release(e.roomId, false);
  }

  /** Delivers held events that are now next in line (all of them with `jump`). */
  private release(roomId: string, jump: boolean): void {
    const held = this.held.get(roomId);
    if (!held) return;
    held.sort((a, b) => a.seq - b.seq);
    while (held.length > 0) {
      const cursor = this.cursors[roomId];
      const next = held[0]!;
      if (cursor !== undefined && next.seq <= cursor) {
        held.shift();
      } else if (cursor === undefined || next.seq === cursor + 1 || jump) {
        held.shift();
        this.accept(next);
        this.emit(next.type, next);
      } else {
        return;
      }
    }
    this.held.delete(roomId);
  }

  /** Asks the server to replay a room from the cursor (it answers with `resumed` after the replay). */
  private repair(roomId: string): void {
    if (this.repairing.has(roomId) || this.paging.has(roomId)) return;
    if (this.write({ type: 'resume', id: `gap-${roomId}`, cursors: { [roomId]: this.cursors[roomId] ?? 0 } }))
      this.repairing.add(roomId);
  }

  /** A repair's replay is done: what is still missing is not in the store any more (pruned). */
  private repaired(f: ServerFrames['resumed']): void {
    const id = (f as { id?: unknown }).id;
    if (typeof id !== 'string' || !id.startsWith('gap-')) return;
    const roomId = id.slice(4);
    this.repairing.delete(roomId);
    const summary = f.rooms?.find((r) => r.roomId === roomId);
    // Not complete: the room is behind and `room_behind` pages it; the held events wait for that.
    if (summary?.complete) this.release(roomId, true);
  }

  /** Moves the cursor to `e` and tells the `event` listeners. */
  private accept(e: LogEventFrame): void {
    this.cursors[e.roomId] = e.seq;
    this.opts.cursors.save(this.cursors);
    this.emit('event', e);
    if (e.type === 'new_message' && this.opts.autoDelivered) this.scheduleDelivered(e.roomId);
    if (e.type === 'user_left' && (e as unknown as { userId: string }).userId === this.userId) {
      delete this.cursors[e.roomId];
      this.opts.cursors.save(this.cursors);
    }
  }

  /** The server replays at most a bounded batch; further back, page the log over REST, then resume. */
  private async catchUp(b: ServerFrames['room_behind']): Promise<void> {
    if (this.paging.has(b.roomId)) return;
    this.paging.add(b.roomId);
    const doFetch = this.opts.fetch ?? globalThis.fetch;
    try {
      // From where the server stopped (afterSeq), never from further on: events past afterSeq that
      // arrived live are held rather than accepted, and paging again from afterSeq costs only duplicates.
      let after = Math.min(this.cursors[b.roomId] ?? b.afterSeq, b.afterSeq);
      for (;;) {
        const token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
        const res = await doFetch(
          `${this.opts.url.replace(/\/$/, '')}/v1/chat/rooms/${encodeURIComponent(b.roomId)}/events?after=${after}&limit=1000`,
          {
            headers: { authorization: `Bearer ${token}` },
          },
        );
        if (!res.ok) throw new SwitchboardError('PAGING_FAILED', `paging ${b.roomId} failed: ${res.status}`);
        const body = (await res.json()) as { data: { events: LogEventFrame[]; hasMore: boolean } };
        // The store's order is the log: a jump there means pruned seqs, not a gap to wait for.
        for (const e of body.data.events) this.receive(e, true);
        after = Math.max(after, this.cursors[b.roomId] ?? after);
        if (!body.data.hasMore) break;
      }
      // Also before this connection's `resumed` (the server queues it behind the start); if no socket
      // is open, the next connection's resume carries the paged cursor anyway.
      this.release(b.roomId, false);
      this.write({ type: 'resume', id: `resume-${b.roomId}`, cursors: { [b.roomId]: after } });
    } catch (err) {
      this.emit('error', { type: 'error', code: 'PAGING_FAILED', message: (err as Error).message });
    } finally {
      this.paging.delete(b.roomId);
    }
  }

  private settle(f: Record<string, unknown>): void {
    const id = typeof f.id === 'string' ? f.id : undefined;
    const p = id ? this.pending.get(id) : undefined;
    if (!p) return;
    if (f.type === 'error' && f.code === 'RATE_LIMITED' && p.durable) {
      // Try again once the limit allows; the message stays in the outbox meanwhile.
      const wait = Number((f.details as { retryAfterMs?: number } | undefined)?.retryAfterMs) || 1000;
      setTimeout(
        () => this.stateValue === 'open' && this.pending.has(p.frame.id) && this.write(p.frame),
        wait,
      );
      return;
    }
    this.pending.delete(p.frame.id);
    if (p.timer) clearTimeout(p.timer);
    if (f.type === 'ack') p.resolve(f);
    else
      p.reject(
        new SwitchboardError(
          String(f.code),
          String(f.message),
          f.details as Record<string, unknown> | undefined,
        ),
      );
  }

  /** Non-durable requests in flight when the socket drops cannot be known to have happened. */
  private failInFlight(): void {
    for (const [id, p] of this.pending) {
      if (p.durable) continue;
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new SwitchboardError('DISCONNECTED', 'connection lost before the server answered'));
    }
  }

  private scheduleDelivered(roomId: string): void {
    if (this.deliveredTimers.has(roomId)) return;
    this.deliveredTimers.set(
      roomId,
      setTimeout(() => {
        this.deliveredTimers.delete(roomId);
        if (this.stateValue === 'open')
          this.write({ type: 'mark_delivered', roomId, seq: this.cursors[roomId] ?? 0 });
      }, 200),
    );
  }

  private startHeartbeat(intervalMs: number): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      // No frame for two intervals: the connection is dead even if the socket has not noticed.
      if (Date.now() - this.lastFrameAt > intervalMs * 2) {
        // A dead peer never completes a close handshake: give the socket up now and reconnect.
        const dead = this.ws;
        if (dead) {
          this.onSocketClosed(dead, { code: 4000, reason: 'heartbeat timeout' });
          dead.close(4000, 'heartbeat timeout');
        }
        return;
      }
      this.write({ type: 'ping' });
    }, intervalMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private write(frame: Record<string, unknown>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  private setState(s: ConnectionState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.emit('state', s);
  }

  private emit(type: string, payload: unknown): void {
    for (const l of this.listeners.get(type) ?? []) {
      try {
        (l as Listener<unknown>)(payload);
      } catch {
        // a listener's bug must not break delivery to the others
      }
    }
  }
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID
    ? c.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}
