import { io as ioClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

/** The three servers a scenario can run against. */
export type TargetKind = 'switchboard' | 'rawws' | 'socketio';

export interface Conn {
  /** Publishes `content` to `room` (Switchboard: a persisted send). */
  publish(room: string, content: string): void;
  close(): void;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
}

export interface ConnectOptions {
  url: string;
  /** Bearer token (Switchboard only). */
  token?: string;
  /** Loopback source address (127.0.0.x), to get past one address's ephemeral-port range. */
  localAddress?: string;
  /** Rooms to receive; Switchboard delivers by membership, so it joins them. */
  rooms: string[];
  onMessage(room: string, content: string): void;
  /** Switchboard: per-room cursors to resume from, so nothing is missed across reconnects. */
  cursors?: Record<string, number>;
  onSeq?(room: string, seq: number): void;
}

/** Opens one client connection and resolves once it receives its rooms live. */
export function connect(kind: TargetKind, o: ConnectOptions): Promise<Conn> {
  if (kind === 'socketio') return connectSocketIo(o);
  if (kind === 'rawws') return connectRawWs(o);
  return connectSwitchboard(o);
}

function wsClosed(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => ws.once('close', () => resolve()));
}

function connectRawWs(o: ConnectOptions): Promise<Conn> {
  const ws = new WebSocket(`${o.url.replace(/^http/, 'ws')}/`, {
    localAddress: o.localAddress,
    perMessageDeflate: false,
  });
  const closed = wsClosed(ws);
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      for (const room of o.rooms) ws.send(JSON.stringify({ type: 'sub', room }));
      ws.on('message', (data) => {
        const f = JSON.parse(String(data)) as { room: string; content: string };
        o.onMessage(f.room, f.content);
      });
      resolve({
        publish: (room, content) => ws.send(JSON.stringify({ type: 'pub', room, content })),
        close: () => ws.close(),
        closed,
      });
    });
  });
}

function connectSocketIo(o: ConnectOptions): Promise<Conn> {
  const socket: Socket = ioClient(o.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    // Passed through engine.io to `ws`.
    localAddress: o.localAddress,
    perMessageDeflate: false,
  } as unknown as Parameters<typeof ioClient>[1]);
  const closed = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
  return new Promise((resolve, reject) => {
    socket.once('connect_error', reject);
    socket.once('connect', () => {
      for (const room of o.rooms) socket.emit('sub', room);
      socket.on('msg', (room: string, content: string) => o.onMessage(room, content));
      resolve({
        publish: (room, content) => socket.emit('pub', room, content),
        close: () => socket.close(),
        closed,
      });
    });
  });
}

function connectSwitchboard(o: ConnectOptions): Promise<Conn> {
  const ws = new WebSocket(`${o.url.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(o.token ?? '')}`, {
    localAddress: o.localAddress,
    perMessageDeflate: false,
  });
  const closed = wsClosed(ws);
  let nextId = 1;
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${String(reason)}`)));
    ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as {
        type: string;
        id?: string;
        roomId?: string;
        seq?: number;
        code?: string;
        message?: { content: string };
      };
      if (f.type === 'new_message') {
        o.onSeq?.(f.roomId!, f.seq!);
        o.onMessage(f.roomId!, f.message!.content);
      } else if (typeof f.seq === 'number' && f.roomId) {
        o.onSeq?.(f.roomId, f.seq);
      }
      if (f.type === 'ready') {
        // Membership is the subscription: join (ALREADY_MEMBER is fine), then start delivery.
        for (const roomId of o.rooms)
          ws.send(JSON.stringify({ type: 'join_room', id: `j${nextId++}`, roomId }));
        ws.send(JSON.stringify({ type: 'resume', id: 'r', cursors: o.cursors ?? {} }));
      } else if (f.type === 'resumed') {
        resolve({
          publish: (roomId, content) =>
            ws.send(JSON.stringify({ type: 'send_message', id: `s${nextId++}`, roomId, content })),
          close: () => ws.close(),
          closed,
        });
      } else if (f.type === 'error' && f.code !== 'ALREADY_MEMBER') {
        process.stderr.write(`switchboard error frame: ${JSON.stringify(f)}\n`);
      }
    });
  });
}
