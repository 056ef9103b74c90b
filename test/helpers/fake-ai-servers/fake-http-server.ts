import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny scriptable HTTP server for the fake AI providers. Each provider file supplies a `WireProtocol`
 * (endpoint, auth check, how an answer and an error look on the wire); this file does the HTTP:
 * queue of behaviours, request recording, delays, disconnects, hangs, and noticing when the client
 * closes the connection before the response is complete.
 */

/** What the next request gets. Behaviours are consumed in order, one per request. */
export type FakeBehaviour =
  /** A complete streamed answer: one delta per chunk, `delayMs` between chunks. */
  | { kind: 'answer'; chunks: string[]; delayMs?: number; inputTokens?: number; outputTokens?: number }
  /** An HTTP error status with the provider's error body (or `body` verbatim) and extra headers. */
  | {
      kind: 'status';
      status: number;
      message?: string;
      /** Provider-specific error type, e.g. `rate_limit_error` / `overloaded_error` for Anthropic. */
      errorType?: string;
      headers?: Record<string, string>;
      body?: unknown;
    }
  /** Start streaming, send `afterChunks` deltas, then destroy the socket (no terminating events). */
  | { kind: 'disconnect'; chunks: string[]; afterChunks: number; delayMs?: number }
  /** Start streaming, send `afterChunks` deltas, then end the response cleanly without the final events. */
  | { kind: 'truncate'; chunks: string[]; afterChunks: number; delayMs?: number }
  /**
   * Never finish. With `afterChunks` undefined, not even the status line is sent; otherwise the stream
   * starts and `afterChunks` deltas are sent first.
   */
  | { kind: 'hang'; chunks?: string[]; afterChunks?: number; delayMs?: number }
  /** Stream `afterChunks` deltas, then a provider error event inside the stream (status 200). */
  | { kind: 'stream-error'; chunks: string[]; afterChunks: number; message?: string; errorType?: string };

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body (undefined if the body was not JSON). */
  body: any;
  /** Whether the protocol's auth check accepted the request. */
  authorized: boolean;
  /** True once the connection is closed; `closedByClient` says whether the client hung up early. */
  closed: boolean;
  /** The client closed the connection before the response was complete (abort, timeout). */
  closedByClient: boolean;
  /** Resolves when the connection of this request is closed. */
  whenClosed: Promise<void>;
}

export interface AnswerUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface WireProtocol {
  /** Does this request hit the endpoint the fake implements? */
  matches(method: string, path: string): boolean;
  /** Is the request authenticated with `apiKey`? */
  authorized(req: http.IncomingMessage, url: URL, apiKey: string | undefined): boolean;
  /** SSE events of a streamed answer: `head` before the first delta, one string per delta, `tail` after. */
  encodeAnswer(
    chunks: string[],
    usage: AnswerUsage,
    model: string,
  ): { head: string[]; deltas: string[]; tail: string[] };
  /** A mid-stream error event. */
  encodeStreamError(message: string, errorType: string | undefined): string;
  /** JSON body of an HTTP error response. */
  errorBody(status: number, message: string, errorType: string | undefined): unknown;
  /** Model id named in the request (for echoing back in the stream). */
  modelOf(req: RecordedRequest): string;
}

export class FakeAiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeBehaviour[] = [];
  private readonly server: http.Server;
  private origin = '';

  constructor(
    private readonly protocol: WireProtocol,
    /** Expected key; requests without it get 401. Undefined: no auth required (local servers). */
    readonly apiKey: string | undefined,
    /** Path prefix the SDK's base URL must carry, e.g. `/v1`. */
    private readonly basePath: string,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    return this;
  }

  /** The base URL to give the SDK (origin + version prefix). */
  get baseUrl(): string {
    return `${this.origin}${this.basePath}`;
  }

  /** Queue behaviours for the next requests, in order. Unscripted requests get a 500. */
  script(...behaviours: FakeBehaviour[]): this {
    this.queue.push(...behaviours);
    return this;
  }

  get lastRequest(): RecordedRequest | undefined {
    return this.requests[this.requests.length - 1];
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    let markClosed: () => void = () => {};
    const whenClosed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });
    let serverDestroyed = false;
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: undefined,
      authorized: false,
      closed: false,
      closedByClient: false,
      whenClosed,
    };
    res.on('close', () => {
      recorded.closed = true;
      recorded.closedByClient = !res.writableFinished && !serverDestroyed;
      markClosed();
    });
    const raw = await readBody(req);
    try {
      recorded.body = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      recorded.body = undefined;
    }
    recorded.authorized = this.protocol.authorized(req, url, this.apiKey);
    this.requests.push(recorded);

    const path = url.pathname.startsWith(this.basePath) ? url.pathname.slice(this.basePath.length) : null;
    if (path === null || !this.protocol.matches(req.method ?? 'GET', path)) {
      return sendJson(
        res,
        404,
        this.protocol.errorBody(404, `no route ${req.method} ${url.pathname}`, undefined),
      );
    }
    if (!recorded.authorized) {
      return sendJson(res, 401, this.protocol.errorBody(401, 'invalid api key', 'authentication_error'));
    }
    const behaviour = this.queue.shift() ?? {
      kind: 'status',
      status: 500,
      message: 'fake server: no scripted behaviour left',
    };
    const model = this.protocol.modelOf(recorded);

    switch (behaviour.kind) {
      case 'status': {
        const body =
          behaviour.body ??
          this.protocol.errorBody(behaviour.status, behaviour.message ?? 'error', behaviour.errorType);
        return sendJson(res, behaviour.status, body, behaviour.headers);
      }
      case 'hang': {
        if (behaviour.afterChunks === undefined) return; // never answer at all
        const { head, deltas } = this.protocol.encodeAnswer(
          behaviour.chunks ?? [],
          usageOf({}, behaviour.chunks),
          model,
        );
        startSse(res);
        await writeEvents(res, head, 0);
        await writeEvents(res, deltas.slice(0, behaviour.afterChunks), behaviour.delayMs ?? 0);
        return; // ...and never end
      }
      default: {
        const chunks = behaviour.chunks;
        const usage = usageOf(behaviour.kind === 'answer' ? behaviour : {}, chunks);
        const { head, deltas, tail } = this.protocol.encodeAnswer(chunks, usage, model);
        const delayMs = 'delayMs' in behaviour ? (behaviour.delayMs ?? 0) : 0;
        startSse(res);
        await writeEvents(res, head, 0);
        if (behaviour.kind === 'answer') {
          await writeEvents(res, deltas, delayMs);
          await writeEvents(res, tail, 0);
          res.end();
          return;
        }
        await writeEvents(res, deltas.slice(0, behaviour.afterChunks), delayMs);
        if (behaviour.kind === 'disconnect') {
          // Give the written bytes a moment to leave, then cut the connection without a chunked terminator.
          await sleep(20);
          serverDestroyed = true;
          res.socket?.destroy();
          return;
        }
        if (behaviour.kind === 'stream-error') {
          await writeEvents(
            res,
            [this.protocol.encodeStreamError(behaviour.message ?? 'stream error', behaviour.errorType)],
            0,
          );
        }
        res.end();
      }
    }
  }
}

function usageOf(
  b: { inputTokens?: number; outputTokens?: number },
  chunks: string[] | undefined,
): AnswerUsage {
  return { inputTokens: b.inputTokens ?? 17, outputTokens: b.outputTokens ?? chunks?.length ?? 0 };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

function startSse(res: http.ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.flushHeaders();
}

async function writeEvents(res: http.ServerResponse, events: string[], delayMs: number): Promise<void> {
  for (const event of events) {
    if (res.destroyed) return;
    if (delayMs > 0) await sleep(delayMs);
    if (res.destroyed) return;
    res.write(event);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `event: <name>` + `data: <json>` SSE frame (Anthropic, OpenAI Responses). */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** `data: <json>` SSE frame (Chat Completions, Gemini). */
export function sseData(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

export function bearerToken(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}
