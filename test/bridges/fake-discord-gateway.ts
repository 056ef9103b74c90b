import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * A local Discord gateway speaking the real protocol: Hello (op 10) with a heartbeat interval,
 * Identify (op 2) → READY dispatch, Resume (op 6) → RESUMED and a replay of what was dispatched
 * while the client was away, heartbeats (op 1) answered with ACKs (op 11) unless told not to.
 */
export class FakeDiscordGateway {
  private wss!: WebSocketServer;
  url = '';
  /** Every payload a client sent, in order. */
  readonly received: { op: number; d: any }[] = [];
  readonly connections: WebSocket[] = [];
  /** Answer heartbeats with ACKs; false makes the client detect a zombie connection. */
  ack = true;
  heartbeatMs = 200;
  private seq = 0;
  /** Dispatches sent, so a Resume can replay those after its seq. */
  private readonly log: { s: number; t: string; d: unknown }[] = [];
  readonly sessionId = 'session-abc';

  async start(): Promise<this> {
    this.wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => this.wss.once('listening', () => r()));
    this.url = `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
    this.wss.on('connection', (ws, req) => {
      if (!req.url?.includes('v=10') || !req.url.includes('encoding=json'))
        ws.close(4012, 'Invalid API version');
      this.connections.push(ws);
      ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.heartbeatMs }, s: null, t: null }));
      ws.on('message', (raw) => this.onMessage(ws, JSON.parse(raw.toString())));
    });
    return this;
  }

  private onMessage(ws: WebSocket, p: { op: number; d: any }) {
    this.received.push(p);
    if (p.op === 1 && this.ack) ws.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
    if (p.op === 2) {
      if (p.d.token !== this.token) return ws.close(4004, 'Authentication failed.');
      this.dispatchTo(ws, 'READY', {
        v: 10,
        session_id: this.sessionId,
        resume_gateway_url: this.url,
        user: { id: this.botUserId, username: 'switchboard-bot', bot: true },
        guilds: [],
      });
    }
    if (p.op === 6) {
      for (const e of this.log.filter((e) => e.s > (p.d.seq ?? 0))) {
        ws.send(JSON.stringify({ op: 0, s: e.s, t: e.t, d: e.d }));
      }
      ws.send(JSON.stringify({ op: 0, s: ++this.seq, t: 'RESUMED', d: {} }));
    }
  }

  constructor(
    readonly token: string,
    readonly botUserId: string,
  ) {}

  private dispatchTo(ws: WebSocket, t: string, d: unknown): void {
    const s = ++this.seq;
    this.log.push({ s, t, d });
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ op: 0, s, t, d }));
  }

  /** Sends a dispatch to the newest open connection (or only logs it, for a Resume to replay). */
  dispatch(t: string, d: unknown): void {
    const ws = this.connections.filter((c) => c.readyState === WebSocket.OPEN).at(-1);
    if (ws) this.dispatchTo(ws, t, d);
    else this.log.push({ s: ++this.seq, t, d });
  }

  /** Drops every connection without a close frame (a network failure). */
  dropAll(): void {
    for (const c of this.connections) c.terminate();
  }

  openCount(): number {
    return this.connections.filter((c) => c.readyState === WebSocket.OPEN).length;
  }

  close(): Promise<void> {
    for (const c of this.connections) c.terminate();
    return new Promise((r) => this.wss.close(() => r()));
  }
}
