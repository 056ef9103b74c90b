import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { AuthService } from '../auth/auth.service.js';
import type { Principal } from '../auth/principal.js';
import { CloseCodes } from '../realtime/protocol.js';
import type { Connection, Realtime } from '../realtime/realtime.js';
import type { Transport } from '../realtime/transport.js';
import { drained } from './drained.js';
import { originAllowed } from './origin.js';
import { FrameWriter } from './ws-frame.js';

export interface GatewayOptions {
  /** Upgrade paths served. @default ['/ws', '/chat'] */
  paths: string[];
  allowedOrigins: string[];
  /** Ms between pings. */
  heartbeatMs: number;
  /** Ms without any frame from the client (pongs do not count) after which the socket is closed. */
  idleTimeoutMs: number;
  /** Ms a client that did not authenticate in the URL or headers has to send an `auth` frame. */
  authTimeoutMs: number;
  /** Hard frame limit in bytes; larger frames close the socket with 1009. */
  hardMaxFrameBytes: number;
}

/**
 * The WebSocket edge: upgrade, origin check, authentication (`?token=`, `Authorization: Bearer`, or a
 * first `auth` frame), heartbeats; then it only forwards frames to the transport-agnostic core.
 */
export class WebSocketGateway {
  private readonly wss: WebSocketServer;
  /** Live sockets with their heartbeat state. */
  private readonly sockets = new Map<WebSocket, { lastSeen: number; alive: boolean }>();
  private readonly timer: NodeJS.Timeout;
  /** Frames each broadcast once and writes it to every socket, one write per socket per turn. */
  private readonly writer = new FrameWriter();

  constructor(
    server: Server,
    private readonly realtime: Realtime,
    private readonly auth: AuthService,
    private readonly logger: Logger,
    private readonly opts: GatewayOptions,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.hardMaxFrameBytes,
      perMessageDeflate: false,
    });
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.timer = setInterval(() => this.sweep(), opts.heartbeatMs);
    this.timer.unref();
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Closes every socket with 1001 so clients reconnect elsewhere and resume. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const ws of this.sockets.keys()) ws.close(CloseCodes.goingAway.code, CloseCodes.goingAway.reason);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!this.opts.paths.includes(url.pathname)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.onSocket(ws, req, url, socket));
  }

  private async onSocket(ws: WebSocket, req: IncomingMessage, url: URL, socket: Duplex): Promise<void> {
    const state = { lastSeen: Date.now(), alive: true };
    this.sockets.set(ws, state);
    ws.on('pong', () => {
      // Liveness only: a socket that answers pings but sends nothing still goes idle.
      state.alive = true;
      conn?.heartbeat();
    });
    let conn: Connection | undefined;
    /** Frames that arrive before the connection is open; the first may be the `auth` frame. */
    const early = new FrameBuffer();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      state.lastSeen = Date.now();
      const text = isBinary ? '' : data.toString();
      if (conn) void conn.onMessage(text);
      else early.push(text);
    });
    ws.on('close', () => {
      this.sockets.delete(ws);
      conn?.onClose();
    });
    ws.on('error', (err) => this.logger.debug({ err }, 'websocket error'));

    if (!originAllowed(req.headers.origin, req.headers.host, this.opts.allowedOrigins)) {
      ws.close(CloseCodes.forbiddenOrigin.code, CloseCodes.forbiddenOrigin.reason);
      return;
    }
    const principal = await this.authenticate(ws, req, url, early);
    if (!principal || ws.readyState !== ws.OPEN) return;
    const transport: Transport = {
      send: (data) => this.writer.send(ws, data),
      close: (code, reason) => ws.close(code, reason),
      bufferedAmount: () => ws.bufferedAmount,
      drained: () => drained(socket, () => ws.readyState !== ws.OPEN || ws.bufferedAmount === 0),
    };
    try {
      conn = await this.realtime.open(principal, transport);
    } catch (err) {
      this.logger.error({ err }, 'opening a realtime connection failed');
      ws.close(CloseCodes.goingAway.code, 'server error; retry');
      return;
    }
    if (ws.readyState !== ws.OPEN) {
      conn.onClose();
      return;
    }
    // Handed over in order and without waiting: frames arriving from now on go straight to the
    // connection, and must not overtake these (the connection serializes them by call order).
    for (const text of early.drain()) void conn.onMessage(text);
  }

  /** Token from the URL or header, else the first frame must be `{type:'auth', token}`. */
  private async authenticate(
    ws: WebSocket,
    req: IncomingMessage,
    url: URL,
    early: FrameBuffer,
  ): Promise<Principal | undefined> {
    const header = req.headers.authorization;
    let token = url.searchParams.get('token') ?? (header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined);
    if (!token) {
      token = await this.waitForAuthFrame(ws, early);
      if (!token) return undefined;
    }
    try {
      return await this.auth.authenticate(token);
    } catch {
      ws.close(CloseCodes.unauthorized.code, CloseCodes.unauthorized.reason);
      return undefined;
    }
  }

  private async waitForAuthFrame(ws: WebSocket, early: FrameBuffer): Promise<string | undefined> {
    const first = await early.next(this.opts.authTimeoutMs);
    if (first === undefined) {
      if (ws.readyState === ws.OPEN) ws.close(CloseCodes.authTimeout.code, CloseCodes.authTimeout.reason);
      return undefined;
    }
    try {
      const f = JSON.parse(first) as { type?: unknown; token?: unknown };
      if (f.type === 'auth' && typeof f.token === 'string') return f.token;
    } catch {
      // not JSON: handled below like any non-auth frame
    }
    ws.close(CloseCodes.unauthorized.code, 'first frame must be {"type":"auth","token":...}');
    return undefined;
  }

  /** Pings every socket; drops those that did not answer the previous ping or have been idle too long. */
  private sweep(): void {
    const now = Date.now();
    for (const [ws, state] of this.sockets) {
      if (!state.alive) {
        ws.terminate();
        continue;
      }
      if (now - state.lastSeen > this.opts.idleTimeoutMs) {
        ws.close(CloseCodes.idleTimeout.code, CloseCodes.idleTimeout.reason);
        continue;
      }
      state.alive = false;
      ws.ping();
    }
  }
}

/** Text frames received before a connection exists, with a way to wait for the first one. */
class FrameBuffer {
  private readonly frames: string[] = [];
  private waiter: ((text: string) => void) | undefined;

  push(text: string): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(text);
    } else {
      this.frames.push(text);
    }
  }

  /** The next frame, or undefined after `timeoutMs`. */
  next(timeoutMs: number): Promise<string | undefined> {
    const ready = this.frames.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = (text) => {
        clearTimeout(timer);
        resolve(text);
      };
    });
  }

  drain(): string[] {
    return this.frames.splice(0);
  }
}
