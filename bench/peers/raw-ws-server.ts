/**
 * The practical ceiling: a minimal `ws` broadcast server with rooms and nothing else (no auth, no
 * persistence, no acks). Frames: `{type:'sub', room}`, `{type:'pub', room, content}` -> every
 * subscriber of the room gets `{type:'msg', room, content}`, serialized once per publish.
 */
import { type WebSocket, WebSocketServer } from 'ws';

const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({
  port: Number(process.env.PORT ?? 0),
  host: '127.0.0.1',
  perMessageDeflate: false,
});
wss.on('connection', (ws) => {
  const mine = new Set<string>();
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as { type: string; room: string; content?: string };
    if (f.type === 'sub') {
      const set = rooms.get(f.room) ?? new Set<WebSocket>();
      rooms.set(f.room, set);
      set.add(ws);
      mine.add(f.room);
    } else if (f.type === 'pub') {
      const out = JSON.stringify({ type: 'msg', room: f.room, content: f.content });
      for (const peer of rooms.get(f.room) ?? []) peer.send(out);
    }
  });
  ws.on('close', () => {
    for (const r of mine) rooms.get(r)?.delete(ws);
  });
});
wss.on('listening', () => {
  const addr = wss.address();
  process.send?.({ ready: true, port: typeof addr === 'object' && addr ? addr.port : 0 });
});
