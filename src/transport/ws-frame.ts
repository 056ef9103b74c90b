import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * Frames a text message as a server would send it (FIN, opcode 1, unmasked, no extensions): the
 * header and the UTF-8 payload in one buffer. Server frames carry no mask, so the same bytes are
 * valid for every recipient.
 */
export function encodeTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, header, length, 'utf8');
  return frame;
}

/** The parts of `ws`'s private state a direct write must respect (ws 8). */
interface WsInternals {
  _socket?: Socket | null;
  _extensions?: Record<string, unknown>;
  _sender?: { _state?: number; _queue?: unknown[] } | null;
}

/**
 * The socket under `ws` when a complete frame may be written to it directly: the connection is
 * open, uses no extension (permessage-deflate would need RSV1 and compression), and `ws` has no
 * frame of its own queued or half written. `ws` writes each frame synchronously, so a whole frame
 * written between its calls never interleaves with one of its own.
 */
export function directSocket(ws: WebSocket): Socket | undefined {
  if (ws.readyState !== 1) return undefined;
  const w = ws as unknown as WsInternals;
  const socket = w._socket;
  if (!socket || socket.destroyed || !socket.writable) return undefined;
  const ext = w._extensions;
  if (ext) for (const _ in ext) return undefined;
  const sender = w._sender;
  if (!sender || sender._state || sender._queue?.length) return undefined;
  return socket;
}

/** Frames kept for reuse, each of at most RECENT_MAX_CHARS: ~2 MB for typical 0.5 KB events. */
const RECENT_FRAMES = 4096;
const RECENT_MAX_CHARS = 16_384;

/**
 * Writes text frames for many WebSocket connections. A payload sent to many sockets in a row (a
 * broadcast: the hub serializes each event once) is framed once and the same buffer goes to every
 * socket. Each socket is corked on its first write of an event-loop turn and uncorked at the end of
 * the turn, so all the frames one turn produces for a socket (a committed batch of events, acks)
 * leave in one system call.
 *
 * Writes go into the socket's own write buffer, so `ws.bufferedAmount` (and `socket.writableLength`)
 * count them and slow-consumer detection keeps working.
 */
export class FrameWriter {
  /**
   * Recent payloads with their frames. A broadcast repeats one string; replays after a reconnect
   * wave interleave the same events for every member of a room (shared strings, see
   * SharedLogReader), so a few thousand entries cover both. Insertion order makes it a FIFO.
   */
  private readonly recent = new Map<string, Buffer>();
  private lastText: string | undefined;
  private lastFrame: Buffer | undefined;
  private corked: Socket[] = [];
  private flushScheduled = false;
  private readonly flush = () => this.uncorkAll();

  constructor(private readonly opts: { corkPerTurn: boolean } = { corkPerTurn: true }) {}

  send(ws: WebSocket, text: string): void {
    const socket = directSocket(ws);
    if (!socket) {
      ws.send(text);
      return;
    }
    const frame = this.frameOf(text);
    if (this.opts.corkPerTurn && socket.writableCorked === 0) {
      socket.cork();
      this.corked.push(socket);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    }
    socket.write(frame);
  }

  /** Frames `text`, reusing the frame of a recent payload that is the same string. */
  frameOf(text: string): Buffer {
    if (text === this.lastText) return this.lastFrame!;
    let frame = this.recent.get(text);
    if (frame) return frame;
    frame = encodeTextFrame(text);
    // A large payload is kept only as the last one (a broadcast sends it to every socket in a row).
    this.lastText = text;
    this.lastFrame = frame;
    if (text.length > RECENT_MAX_CHARS) return frame;
    if (this.recent.size >= RECENT_FRAMES) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(text, frame);
    return frame;
  }

  /** Sends everything corked so far (also run at the end of each turn). */
  uncorkAll(): void {
    this.flushScheduled = false;
    const corked = this.corked;
    this.corked = [];
    for (const socket of corked) {
      // Uncorks fully: `ws` corks and uncorks in pairs inside its own writes.
      while (socket.writableCorked > 0) socket.uncork();
    }
  }
}
