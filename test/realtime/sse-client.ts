import { type ClientRequest, get, type IncomingMessage } from 'node:http';

/** One Server-Sent Event: `data` parsed as JSON. */
export interface SseEvent {
  id?: string;
  event?: string;
  data: any;
}

/**
 * Reads `GET /v1/events/stream` as a stream (node:http, so closing it really drops the connection)
 * and parses the SSE framing (`id:`, `event:`, `data:` lines, blank-line separated; `:` comments and
 * `retry:` ignored).
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  private waiters = new Set<() => void>();
  private ended = false;

  private constructor(
    private readonly req: ClientRequest,
    readonly response: IncomingMessage,
  ) {}

  /** Opens the stream; resolves once the response headers are in (any status). */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = get(url, { headers }, (res) => {
        const client = new SseClient(req, res);
        if (res.statusCode === 200) client.pump(res);
        resolve(client);
      });
      req.on('error', reject);
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** Stops reading and closes the connection. */
  close(): void {
    this.req.destroy();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Data frames of a type. */
  all(type?: string): SseEvent[] {
    return this.events.filter((e) => type === undefined || e.data?.type === type);
  }

  /** Waits until `n` events match; returns them in order. */
  waitForCount(pred: (e: SseEvent) => boolean, n: number, timeoutMs = 5000): Promise<SseEvent[]> {
    return this.until(() => {
      const all = this.events.filter(pred);
      return all.length >= n ? all : undefined;
    }, timeoutMs);
  }

  waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 5000): Promise<SseEvent> {
    return this.until(() => this.events.find(pred), timeoutMs);
  }

  private pump(res: IncomingMessage): void {
    const decoder = new TextDecoder();
    let buf = '';
    res.on('data', (chunk: Buffer) => {
      buf += decoder.decode(chunk, { stream: true });
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        this.parse(block);
      }
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    res.on('end', end);
    res.on('close', end);
    res.on('error', end);
  }

  private parse(block: string): void {
    const ev: Partial<SseEvent> & { dataLines: string[] } = { dataLines: [] };
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') ev.id = value;
      else if (field === 'event') ev.event = value;
      else if (field === 'data') ev.dataLines.push(value);
    }
    if (ev.dataLines.length === 0) return; // retry: or comments only
    this.events.push({
      ...(ev.id !== undefined ? { id: ev.id } : {}),
      ...(ev.event !== undefined ? { event: ev.event } : {}),
      data: JSON.parse(ev.dataLines.join('\n')),
    });
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private until<T>(check: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Nothing more arrives once the connection is gone: fail at once rather than at the timeout.
      const waiter = () => {
        const v = check();
        if (v === undefined && !this.ended) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        if (v !== undefined) resolve(v);
        else
          reject(
            new Error(
              `stream ended while waiting (${JSON.stringify(this.ended)}); last: ${JSON.stringify(this.events.slice(-3)).slice(0, 600)}`,
            ),
          );
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const recent = this.events.slice(-5).map((e) => JSON.stringify(e).slice(0, 300));
        reject(new Error(`SSE: timed out after ${timeoutMs}ms; last events:\n${recent.join('\n')}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      waiter();
    });
  }
}
