import type { WebSocketLike } from '../../../src/client/index.js';

const CLOSED = 3;

/**
 * A browser WebSocket the page can give up on. When the network goes away, Chromium keeps an open
 * socket "open" but silent until the network returns, and the SDK would only notice through its
 * heartbeat (two intervals, ~50 s). Giving the socket up at the `offline` event lets the SDK show
 * "reconnecting" at once and resume as soon as a new socket gets through.
 */
class WatchedSocket implements WebSocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  private dead = false;
  private readonly ws: WebSocket;

  constructor(
    url: string,
    private readonly forget: (s: WatchedSocket) => void,
  ) {
    this.ws = new WebSocket(url);
    this.ws.onopen = (ev) => !this.dead && this.onopen?.(ev);
    this.ws.onmessage = (ev) => !this.dead && this.onmessage?.({ data: ev.data });
    this.ws.onerror = (ev) => !this.dead && this.onerror?.(ev);
    this.ws.onclose = (ev) => this.finish(ev.code, ev.reason);
  }

  get readyState(): number {
    return this.dead ? CLOSED : this.ws.readyState;
  }

  send(data: string): void {
    if (!this.dead) this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.close();
    }
  }

  /** Reports the socket closed now, without waiting for a close handshake that cannot happen offline. */
  abandon(reason: string): void {
    if (this.dead) return;
    this.close(4000, reason);
    this.finish(4000, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.forget(this);
    this.onclose?.({ code, reason });
  }
}

/** Creates the SDK's sockets and drops them all when the browser reports the network gone. */
export class NetworkWatch {
  private readonly sockets = new Set<WatchedSocket>();
  private readonly onOffline = () => {
    for (const s of [...this.sockets]) s.abandon('network offline');
  };

  constructor(private readonly target: Window = window) {
    target.addEventListener('offline', this.onOffline);
  }

  readonly factory = (url: string): WebSocketLike => {
    const s = new WatchedSocket(url, (gone) => this.sockets.delete(gone));
    this.sockets.add(s);
    return s;
  };

  dispose(): void {
    this.target.removeEventListener('offline', this.onOffline);
  }
}
