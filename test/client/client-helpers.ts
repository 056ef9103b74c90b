import { WebSocket } from 'ws';
import {
  type ClientOptions,
  type ConnectionState,
  type LogEventFrame,
  type ServerFrames,
  SwitchboardClient,
  type WebSocketLike,
} from '../../src/client/index.js';
import { type TestApp, type TestUser, uniqueName } from '../helpers/test-app.js';

/** Server settings that make the client suites fast. */
export const FAST_ENV = {
  RESUME_WAIT_MS: '50',
  PRESENCE_OFFLINE_GRACE_MS: '0',
  WS_FRAME_RATE: '100000',
  SEND_RATE_LIMIT: '100000',
};

/**
 * A real `ws` WebSocket behind the `WebSocketLike` the SDK expects, with hooks to drop the connection
 * (`terminate()`: no close handshake, like a network failure) and to see or hold back frames.
 */
export class TappedSocket implements WebSocketLike {
  readonly raw: WebSocket;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  /** Frames the client wrote, parsed. */
  readonly sent: Record<string, any>[] = [];

  constructor(
    url: string,
    private readonly tap: SocketTap,
  ) {
    this.raw = new WebSocket(url);
    this.raw.onopen = (ev) => this.onopen?.(ev);
    this.raw.onerror = (ev) => this.onerror?.(ev);
    this.raw.onclose = (ev) => this.onclose?.({ code: ev.code, reason: ev.reason });
    this.raw.onmessage = (ev) => {
      const text = String(ev.data);
      const frame = JSON.parse(text) as Record<string, any>;
      if (this.tap.incoming?.(frame, this) === 'drop') return;
      this.onmessage?.({ data: text });
    };
  }

  get readyState(): number {
    return this.raw.readyState;
  }

  send(data: string): void {
    this.raw.send(data);
    const frame = JSON.parse(data) as Record<string, any>;
    this.sent.push(frame);
    this.tap.outgoing?.(frame, this);
  }

  close(code?: number, reason?: string): void {
    this.raw.close(code, reason);
  }

  /** Drops the TCP connection at once: the client sees an abnormal close (1006). */
  terminate(): void {
    this.raw.terminate();
  }

  /** Hands a frame to the client as if it had just arrived (for frames held back by `incoming`). */
  inject(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

/** A WebSocket factory for the SDK that keeps every socket it made. */
export class SocketTap {
  readonly sockets: TappedSocket[] = [];
  /** Sees each frame from the server before the client; 'drop' hides it from the client. */
  incoming: ((frame: Record<string, any>, socket: TappedSocket) => 'drop' | undefined) | undefined;
  /** Sees each frame after the client wrote it. */
  outgoing: ((frame: Record<string, any>, socket: TappedSocket) => void) | undefined;

  readonly factory = (url: string): WebSocketLike => {
    const s = new TappedSocket(url, this);
    this.sockets.push(s);
    return s;
  };

  get current(): TappedSocket {
    const s = this.sockets.at(-1);
    if (!s) throw new Error('no socket opened yet');
    return s;
  }
}

export interface TestClient {
  client: SwitchboardClient;
  tap: SocketTap;
  /** Every log event the client emitted as `event`, in emission order. */
  events: LogEventFrame[];
  /** Every `new_message` the client emitted, in emission order. */
  messages: ServerFrames['new_message'][];
  /** Every connection state the client went through. */
  states: ConnectionState[];
}

/** Tracks clients so a suite can close them all after each test. */
export class ClientPool {
  private readonly clients = new Set<SwitchboardClient>();

  /** A client for `user` over a tapped real WebSocket (not connected yet). */
  make(t: TestApp, user: TestUser | null, opts: Partial<ClientOptions> = {}): TestClient {
    const tap = new SocketTap();
    const client = new SwitchboardClient({
      url: t.baseUrl,
      token: user?.token ?? 'not-a-token',
      webSocket: tap.factory,
      backoffMs: { initial: 20, max: 200 },
      ...opts,
    });
    this.clients.add(client);
    const tc: TestClient = { client, tap, events: [], messages: [], states: [] };
    client.on('event', (e) => tc.events.push(e));
    client.on('new_message', (m) => tc.messages.push(m));
    client.on('state', (s) => tc.states.push(s));
    return tc;
  }

  /** Makes a client and waits until it is live. */
  async connect(t: TestApp, user: TestUser, opts: Partial<ClientOptions> = {}): Promise<TestClient> {
    const tc = this.make(t, user, opts);
    await tc.client.connect();
    return tc;
  }

  closeAll(): void {
    for (const c of this.clients) c.close();
    this.clients.clear();
  }
}

/** Polls until `check` returns true (or a value other than false/undefined); fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | false | undefined | Promise<T | false | undefined>,
  what: string | (() => string),
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${typeof what === 'string' ? what : what()}${last ? `: ${(last as Error).message}` : ''}`,
      );
    }
    await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the next value of `type` that satisfies `pred`. */
export function nextOf<T extends keyof ServerFrames>(
  client: SwitchboardClient,
  type: T,
  pred: (f: ServerFrames[T]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<ServerFrames[T]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${type}`));
    }, timeoutMs);
    const off = client.on(type, (f) => {
      if (!pred(f)) return;
      clearTimeout(timer);
      off();
      resolve(f);
    });
  });
}

/** Resolves when the client reaches `state`. */
export function nextState(client: SwitchboardClient, state: ConnectionState, timeoutMs = 10_000) {
  return new Promise<void>((resolve, reject) => {
    if (client.state === state) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for state ${state} (now ${client.state})`));
    }, timeoutMs);
    const off = client.on('state', (s) => {
      if (s !== state) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/**
 * A user with an access token, made through the services: no password, so no scrypt (registering
 * over REST costs hundreds of milliseconds a user).
 */
export async function quickUser(t: TestApp): Promise<TestUser> {
  const u = await t.sb.users.create({ username: uniqueName('u') });
  return { userId: u.userId, username: u.username, token: await t.sb.auth.tokenFor(u), refreshToken: '' };
}

export function quickUsers(t: TestApp, n: 2): Promise<[TestUser, TestUser]>;
export function quickUsers(t: TestApp, n: 3): Promise<[TestUser, TestUser, TestUser]>;
export function quickUsers(t: TestApp, n: number): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: n }, () => quickUser(t)));
}

/** A public room owned by `owner` with `others` joined. */
export async function roomWith(t: TestApp, owner: TestUser, ...others: TestUser[]): Promise<string> {
  const room = await t.newRoom(owner);
  for (const u of others) {
    const r = await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: u.token });
    if (r.status !== 200) throw new Error(`join failed: ${JSON.stringify(r.body)}`);
  }
  return room.roomId;
}

/** The principal the services take, for sending straight through `t.sb`. */
export const principal = (u: TestUser) => ({ userId: u.userId, username: u.username, isAdmin: false });

/**
 * Sends `contents` to the room as `user` straight through the service, `concurrency` at a time (so
 * commits share transactions); resolves with the stored messages in seq order.
 */
export async function post(
  t: TestApp,
  user: TestUser,
  roomId: string,
  contents: string[],
  concurrency = 100,
) {
  const out = [];
  for (let i = 0; i < contents.length; i += concurrency) {
    const chunk = contents.slice(i, i + concurrency);
    out.push(
      ...(await Promise.all(
        chunk.map((content) => t.sb.messages.send(principal(user), roomId, { content })),
      )),
    );
  }
  return out.map((r) => r.message).sort((a, b) => a.seq - b.seq);
}

export const numbered = (n: number, stem = 'm') => Array.from({ length: n }, (_, i) => `${stem}${i}`);

/** The room's whole log over REST, oldest first. */
export async function roomLog(t: TestApp, user: TestUser, roomId: string): Promise<LogEventFrame[]> {
  const out: LogEventFrame[] = [];
  let after = 0;
  for (;;) {
    const r = await t.api('GET', `/v1/chat/rooms/${roomId}/events?after=${after}&limit=1000`, {
      token: user.token,
    });
    if (r.status !== 200) throw new Error(`events failed: ${JSON.stringify(r.body)}`);
    out.push(...r.body.data.events);
    if (!r.body.data.hasMore) return out;
    after = out.at(-1)!.seq;
  }
}

/** The room's messages from the log (so deletes and edits do not hide anything), oldest first. */
export async function loggedMessages(t: TestApp, user: TestUser, roomId: string) {
  return (await roomLog(t, user, roomId))
    .filter((e) => e.type === 'new_message')
    .map((e) => (e as ServerFrames['new_message']).message);
}

/** Asserts seqs of one room's events strictly increase (each delivered once, in order). */
export function seqsOf(frames: { roomId: string; seq: number }[], roomId: string): number[] {
  return frames.filter((f) => f.roomId === roomId).map((f) => f.seq);
}
