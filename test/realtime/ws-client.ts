import WebSocket from 'ws';
import { type TestApp, type TestUser, uniqueName } from '../helpers/test-app.js';

/** A frame the server sent, parsed. */
export type Frame = { type: string; [field: string]: any };
export type Predicate = (f: Frame) => boolean;

export interface ConnectOptions {
  /** Token in the URL (`?token=`). */
  token?: string;
  /** Token in an `Authorization: Bearer` header. */
  bearer?: string;
  /** Token in a first `{type:'auth'}` frame, sent as soon as the socket opens. */
  authFrame?: string;
  /** Sent right after the socket opens (after the auth frame, if any): `{type:'resume', cursors}`. */
  resume?: Record<string, number>;
  origin?: string;
  path?: string;
}

const DEFAULT_TIMEOUT = 5000;

/** Matches frames by type and (shallowly) by fields. */
export const is =
  (type: string, fields: Record<string, unknown> = {}): Predicate =>
  (f) =>
    f.type === type && Object.entries(fields).every(([k, v]) => f[k] === v);

/** A new_message frame of a room. */
export const msgIn =
  (roomId: string): Predicate =>
  (f) =>
    f.type === 'new_message' && f.roomId === roomId;

/** The message contents of new_message frames. */
export const contents = (frames: Frame[]): string[] => frames.map((f) => f.message.content);

/**
 * A real `ws` client that records every frame. `next` consumes frames in arrival order (a read
 * position moves past each match), `waitFor` looks at everything received so far without consuming.
 * Every wait has a timeout only so that a failing test fails instead of hanging.
 */
export class WsClient {
  readonly frames: Frame[] = [];
  /** Index of the first frame `next` has not looked past. */
  private pos = 0;
  private waiters = new Set<() => void>();
  private closeInfo: { code: number; reason: string } | undefined;
  private idSeq = 0;
  /** Resolves with the close code and reason once the socket has closed. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.wake();
    });
    ws.on('error', () => {
      // surfaced through `closed`
    });
  }

  /** Opens a socket; resolves once it is open (the server may still close it right away). */
  static async connect(baseUrl: string, opts: ConnectOptions = {}): Promise<WsClient> {
    const url = new URL(opts.path ?? '/ws', baseUrl.replace(/^http/, 'ws'));
    if (opts.token !== undefined) url.searchParams.set('token', opts.token);
    const headers: Record<string, string> = {};
    if (opts.bearer !== undefined) headers.authorization = `Bearer ${opts.bearer}`;
    const ws = new WebSocket(url, { headers, ...(opts.origin ? { origin: opts.origin } : {}) });
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    if (opts.authFrame !== undefined) client.send({ type: 'auth', token: opts.authFrame });
    if (opts.resume !== undefined) client.send({ type: 'resume', cursors: opts.resume });
    return client;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: Record<string, unknown> | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a frame with a fresh id and waits for the answer that echoes it (`ack`, `error`, `pong`, `resumed`). */
  async request(frame: Record<string, unknown>, timeoutMs = DEFAULT_TIMEOUT): Promise<Frame> {
    const id = `r${++this.idSeq}`;
    this.send({ ...frame, id });
    return this.waitFor((f) => f.id === id, timeoutMs);
  }

  /** Like `request`, but fails unless the answer is an ack. */
  async ok(frame: Record<string, unknown>, timeoutMs = DEFAULT_TIMEOUT): Promise<Frame> {
    const r = await this.request(frame, timeoutMs);
    if (r.type !== 'ack') throw new Error(`expected an ack for ${frame.type}, got ${JSON.stringify(r)}`);
    return r;
  }

  /**
   * Round trip through the server: every frame the server sent this socket before it answered
   * this ping has arrived when this resolves. Used to prove that something did NOT arrive.
   */
  async barrier(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const id = `b${++this.idSeq}`;
    this.send({ type: 'ping', id });
    await this.waitFor((f) => f.type === 'pong' && f.id === id, timeoutMs);
  }

  /** The next frame (after the read position) matching `pred`; moves the read position past it. */
  next(pred: Predicate = () => true, timeoutMs = DEFAULT_TIMEOUT): Promise<Frame> {
    return this.until(
      () => {
        for (let i = this.pos; i < this.frames.length; i++) {
          if (pred(this.frames[i]!)) {
            this.pos = i + 1;
            return this.frames[i]!;
          }
        }
        return undefined;
      },
      timeoutMs,
      `next frame matching ${pred.toString()}`,
    );
  }

  /** The first frame received so far (or later) matching `pred`; does not move the read position. */
  waitFor(pred: Predicate, timeoutMs = DEFAULT_TIMEOUT): Promise<Frame> {
    return this.until(() => this.frames.find(pred), timeoutMs, `a frame matching ${pred.toString()}`);
  }

  /** Waits until `n` frames matching `pred` have been received in total; returns them in order. */
  waitForCount(pred: Predicate, n: number, timeoutMs = DEFAULT_TIMEOUT): Promise<Frame[]> {
    return this.until(
      () => {
        const all = this.frames.filter(pred);
        return all.length >= n ? all : undefined;
      },
      timeoutMs,
      `${n} frames matching ${pred.toString()}`,
    );
  }

  /** Every frame received so far that matches. */
  all(pred: Predicate = () => true): Frame[] {
    return this.frames.filter(pred);
  }

  /** Waits for the close; resolves with its code and reason. */
  async waitClose(timeoutMs = DEFAULT_TIMEOUT): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closeInfo, timeoutMs, 'the socket to close');
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }

  /** Drops the TCP connection without a closing handshake. */
  terminate(): void {
    this.ws.terminate();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Nothing more arrives once the connection is gone: fail at once rather than at the timeout.
      const waiter = () => {
        const v = check();
        if (v === undefined && !this.closeInfo) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        if (v !== undefined) resolve(v);
        else
          reject(
            new Error(
              `socket closed while waiting (${JSON.stringify(this.closeInfo)}); last: ${JSON.stringify(this.frames.slice(-3)).slice(0, 600)}`,
            ),
          );
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const recent = this.frames.slice(-5).map((f) => JSON.stringify(f).slice(0, 300));
        const closed = this.closeInfo ? ` (socket closed: ${JSON.stringify(this.closeInfo)})` : '';
        reject(
          new Error(
            `timed out after ${timeoutMs}ms waiting for ${what}${closed}; last frames:\n${recent.join('\n')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
      waiter();
    });
  }
}

/** Connects `user` with `?token=` and waits until delivery is live (`resumed`, after the auto-start). */
export async function live(t: TestApp, user: TestUser, opts: ConnectOptions = {}): Promise<WsClient> {
  const c = await WsClient.connect(t.baseUrl, { token: user.token, ...opts });
  await c.next(is('ready'));
  await c.next(is('resumed'));
  return c;
}

/** Connects and resumes from `cursors`; waits for `ready` (not for `resumed`). */
export async function resumeFrom(
  t: TestApp,
  user: TestUser,
  cursors: Record<string, number>,
): Promise<WsClient> {
  const c = await WsClient.connect(t.baseUrl, { token: user.token, resume: cursors });
  await c.next(is('ready'));
  return c;
}

/** Closes every client, ignoring ones already closed. */
export async function closeAll(clients: Iterable<WsClient>): Promise<void> {
  await Promise.all([...clients].map((c) => c.close()));
}

/** The room's head seq as `user` sees it over REST. */
export async function lastSeq(t: TestApp, user: TestUser, roomId: string): Promise<number> {
  const r = await t.api('GET', `/v1/chat/rooms/${roomId}`, { token: user.token });
  if (r.status !== 200) throw new Error(`GET room failed: ${JSON.stringify(r.body)}`);
  return r.body.data.lastSeq;
}

/** Sends a message over REST; returns the stored message. */
export async function sendRest(t: TestApp, user: TestUser, roomId: string, content: string): Promise<any> {
  const r = await t.api('POST', `/v1/chat/rooms/${roomId}/messages`, {
    token: user.token,
    body: { content },
  });
  if (r.status !== 201) throw new Error(`send failed: ${JSON.stringify(r.body)}`);
  return r.body.data;
}

/** Joins a public room over REST. */
export async function joinRest(t: TestApp, user: TestUser, roomId: string): Promise<void> {
  const r = await t.api('POST', `/v1/chat/rooms/${roomId}/join`, { token: user.token });
  if (r.status !== 200) throw new Error(`join failed: ${JSON.stringify(r.body)}`);
}

/** The principal the services expect, for sending through `t.sb` directly. */
export function principal(user: TestUser) {
  return { userId: user.userId, username: user.username, isAdmin: false };
}

/**
 * Users made through the service, with a real access token, but without a password: registration
 * hashes one (scrypt), which would dominate these suites. Registration has its own tests.
 */
export async function newUsers<N extends number>(t: TestApp, n: N): Promise<Users<N>> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const user = await t.sb.users.create({ username: uniqueName('rt') });
      return {
        userId: user.userId,
        username: user.username,
        token: await t.sb.auth.tokenFor(user),
        refreshToken: '',
      };
    }),
  ) as Promise<Users<N>>;
}

type Users<N extends number, R extends TestUser[] = []> = R['length'] extends N
  ? R
  : Users<N, [...R, TestUser]>;
