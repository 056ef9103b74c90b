/**
 * What users would pick instead: a Socket.IO 4 server with rooms, WebSocket transport only (no
 * long-polling upgrade dance), no persistence. Events: `sub(room)`, `pub(room, content)` ->
 * `msg(room, content)` to the room.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
io.on('connection', (socket) => {
  socket.on('sub', (room: string) => void socket.join(room));
  socket.on('pub', (room: string, content: string) => void io.to(room).emit('msg', room, content));
});
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const addr = http.address();
  process.send?.({ ready: true, port: typeof addr === 'object' && addr ? addr.port : 0 });
});
