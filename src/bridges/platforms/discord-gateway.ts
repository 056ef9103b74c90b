import WebSocket from 'ws';

/** Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes). */
export const Op = {
  DISPATCH: 0,
  HEARTBEAT: 1,
  IDENTIFY: 2,
  RESUME: 6,
  RECONNECT: 7,
  INVALID_SESSION: 9,
  HELLO: 10,
  HEARTBEAT_ACK: 11,
} as const;

/** GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT (a privileged intent: enable it in the portal). */
export const DEFAULT_INTENTS = (1 << 0) | (1 << 9) | (1 << 12) | (1 << 15);

/** Close codes after which reconnecting cannot help: bad token, bad intents, bad shard or version. */
const FATAL_CLOSE = new Set([4004, 4010, 4011, 4012, 4013, 4014]);
/** Our own close code for a reconnect we chose (zombie connection, op 7): Discord keeps the session. */
const RESUME_CLOSE = 4000;

export interface GatewayOptions {
  /** `wss://gateway.discord.gg` by default; `?v=10&encoding=json` is added. */
  url: string;
  token: string;
  intents?: number;
  /** A dispatched `MESSAGE_CREATE`'s `d`. Errors are the caller's to handle. */
  onMessage: (d: unknown) => void;
  /** The bot's own user id, from READY. */
  onReady?: (botUserId: string) => void;
  logger: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  /** Longest wait between reconnects, ms. @default 60_000 */
  maxBackoffMs?: number;
}

/**
 * A Discord gateway client for one shard: Hello → Identify (or Resume after a drop), heartbeats
 * with the last sequence, zombie detection (a heartbeat without ACK reconnects), op 7 and op 9
 * handling, and reconnects with backoff. Only MESSAGE_CREATE is passed on; with Resume, Discord
 * replays what was dispatched while we were away.
 */
export class DiscordGateway {
  private ws: WebSocket | undefined;
  private seq: number | null = null;
  private sessionId: string | undefined;
  private resumeUrl: string | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private acked = true;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  /** True once READY or RESUMED arrived on the current connection. */
  ready = false;

  constructor(private readonly o: GatewayOptions) {}

  start(): void {
    this.stopped = false;
    this.connect(false);
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    this.ws?.close(1000);
    this.ws = undefined;
  }

  private connect(resume: boolean): void {
    if (this.stopped) return;
    const base = resume && this.resumeUrl ? this.resumeUrl : this.o.url;
    const url = new URL(base);
    url.searchParams.set('v', '10');
    url.searchParams.set('encoding', 'json');
    const ws = new WebSocket(url, { handshakeTimeout: 15_000 });
    this.ws = ws;
    this.ready = false;
    ws.on('message', (data) => {
      if (this.ws !== ws) return;
      let p: { op: number; d: unknown; s: number | null; t: string | null };
      try {
        p = JSON.parse(data.toString());
      } catch {
        return;
      }
      this.onPayload(ws, p, resume);
    });
    ws.on('close', (code) => {
      if (this.ws !== ws) return;
      this.stopHeartbeat();
      this.ws = undefined;
      if (this.stopped) return;
      if (FATAL_CLOSE.has(code)) {
        this.o.logger.error({ code }, 'Discord gateway refused the bot (token or intents); not reconnecting');
        return;
      }
      this.scheduleReconnect(this.sessionId !== undefined);
    });
    ws.on('error', (err) => this.o.logger.warn({ err: err.message }, 'Discord gateway connection error'));
  }

  private onPayload(
    ws: WebSocket,
    p: { op: number; d: unknown; s: number | null; t: string | null },
    resume: boolean,
  ): void {
    switch (p.op) {
      case Op.HELLO: {
        const interval = (p.d as { heartbeat_interval?: number })?.heartbeat_interval ?? 41_250;
        this.startHeartbeat(ws, interval);
        if (resume && this.sessionId) {
          this.sendOp(ws, Op.RESUME, { token: this.o.token, session_id: this.sessionId, seq: this.seq });
        } else {
          this.seq = null;
          this.sendOp(ws, Op.IDENTIFY, {
            token: this.o.token,
            intents: this.o.intents ?? DEFAULT_INTENTS,
            properties: { os: process.platform, browser: 'switchboard', device: 'switchboard' },
          });
        }
        return;
      }
      case Op.HEARTBEAT:
        this.sendOp(ws, Op.HEARTBEAT, this.seq);
        return;
      case Op.HEARTBEAT_ACK:
        this.acked = true;
        return;
      case Op.RECONNECT:
        ws.close(RESUME_CLOSE);
        return;
      case Op.INVALID_SESSION:
        if (p.d !== true) {
          this.sessionId = undefined;
          this.resumeUrl = undefined;
          this.seq = null;
        }
        ws.close(RESUME_CLOSE);
        return;
      case Op.DISPATCH:
        if (typeof p.s === 'number') this.seq = p.s;
        this.onDispatch(p.t, p.d);
        return;
    }
  }

  private onDispatch(t: string | null, d: unknown): void {
    if (t === 'READY') {
      const r = d as { session_id?: string; resume_gateway_url?: string; user?: { id?: string } };
      this.sessionId = r.session_id;
      this.resumeUrl = r.resume_gateway_url;
      this.ready = true;
      this.failures = 0;
      if (r.user?.id) this.o.onReady?.(r.user.id);
      this.o.logger.info({}, 'Discord gateway ready');
    } else if (t === 'RESUMED') {
      this.ready = true;
      this.failures = 0;
    } else if (t === 'MESSAGE_CREATE') {
      this.o.onMessage(d);
    }
  }

  private startHeartbeat(ws: WebSocket, intervalMs: number): void {
    this.stopHeartbeat();
    this.acked = true;
    const beat = () => {
      if (!this.acked) {
        // No ACK since the last beat: the connection is a zombie. Resume on a fresh one.
        ws.close(RESUME_CLOSE);
        return;
      }
      this.acked = false;
      this.sendOp(ws, Op.HEARTBEAT, this.seq);
      this.heartbeat = setTimeout(beat, intervalMs);
    };
    // The first beat waits a random fraction of the interval, as Discord asks.
    this.heartbeat = setTimeout(beat, Math.floor(intervalMs * Math.random()));
  }

  private stopHeartbeat(): void {
    clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
  }

  private sendOp(ws: WebSocket, op: number, d: unknown): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ op, d }));
  }

  private scheduleReconnect(resume: boolean): void {
    this.failures++;
    const max = this.o.maxBackoffMs ?? 60_000;
    const delay = Math.min(max, 1000 * 2 ** Math.min(this.failures - 1, 10)) * (0.5 + Math.random() / 2);
    this.retryTimer = setTimeout(() => this.connect(resume), this.failures === 1 ? 0 : delay);
    this.retryTimer.unref();
  }
}
