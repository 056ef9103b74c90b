import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { directSocket, encodeTextFrame, FrameWriter } from '../../src/transport/ws-frame.js';

const require = createRequire(import.meta.url);
// Not in ws's typings, but exported by the package: its own frame parser and framer.
const wsExports = require('ws') as {
  Receiver: new (opts: {
    isServer: boolean;
    maxPayload?: number;
  }) => NodeJS.WritableStream & NodeJS.EventEmitter;
  Sender: { frame(data: Buffer, opts: Record<string, unknown>): Buffer[] };
};
const { Receiver, Sender } = wsExports;

/** Parses server-to-client bytes with ws's own Receiver (as a client would). */
function decode(bytes: Buffer): Promise<{ text: string; binary: boolean }[]> {
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  const out: { text: string; binary: boolean }[] = [];
  receiver.on('message', (data: Buffer, binary: boolean) => out.push({ text: data.toString(), binary }));
  return new Promise((resolve, reject) => {
    receiver.on('error', reject);
    receiver.write(bytes, () => resolve(out));
  });
}

const sizes = [0, 1, 125, 126, 127, 1000, 65_535, 65_536, 70_000];

describe('encodeTextFrame', () => {
  it.each(sizes)('frames %i bytes with the right header size', async (n) => {
    const text = 'a'.repeat(n);
    const frame = encodeTextFrame(text);
    const header = n < 126 ? 2 : n < 65_536 ? 4 : 10;
    expect(frame.length).toBe(header + n);
    expect(frame[0]).toBe(0x81); // FIN, text, no RSV bits
    expect(frame[1]! & 0x80).toBe(0); // unmasked
    expect(frame[1]! & 0x7f).toBe(n < 126 ? n : n < 65_536 ? 126 : 127);
    if (header === 4) expect(frame.readUInt16BE(2)).toBe(n);
    if (header === 10) expect(Number(frame.readBigUInt64BE(2))).toBe(n);
    expect(frame.subarray(header).toString()).toBe(text);
    expect(await decode(frame)).toEqual([{ text, binary: false }]);
  });

  it.each(sizes)('produces the same bytes as ws for %i bytes', (n) => {
    const data = Buffer.from('x'.repeat(n));
    const theirs = Buffer.concat(
      Sender.frame(data, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }),
    );
    expect(encodeTextFrame('x'.repeat(n)).equals(theirs)).toBe(true);
  });

  it('counts the payload length in UTF-8 bytes, not characters', async () => {
    const text = `${'é'.repeat(70)}😀${'ü'.repeat(40_000)}`; // 126+ and 65,536+ bytes at the boundaries
    for (const t of [text.slice(0, 63), text.slice(0, 70), text]) {
      const frame = encodeTextFrame(t);
      expect(await decode(frame)).toEqual([{ text: t, binary: false }]);
    }
  });

  it('decodes several frames written back to back', async () => {
    const texts = ['{"a":1}', 'b'.repeat(300), 'c'.repeat(66_000), ''];
    expect(await decode(Buffer.concat(texts.map(encodeTextFrame)))).toEqual(
      texts.map((text) => ({ text, binary: false })),
    );
  });
});

describe('FrameWriter with real ws connections', () => {
  let wss: WebSocketServer | undefined;
  const clients: WebSocket[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
    wss = undefined;
  });

  /** A server and `n` clients; resolves with the server-side sockets and each client's received texts. */
  async function setup(n: number, serverOpts: { perMessageDeflate?: boolean } = {}) {
    const server = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      perMessageDeflate: false,
      ...serverOpts,
    });
    wss = server;
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    const serverSide: WebSocket[] = [];
    const got: string[][] = [];
    const connected = new Promise<void>((resolve) =>
      server.on('connection', (ws) => {
        serverSide.push(ws);
        if (serverSide.length === n) resolve();
      }),
    );
    for (let i = 0; i < n; i++) {
      const c = new WebSocket(`ws://127.0.0.1:${port}`, {
        perMessageDeflate: serverOpts.perMessageDeflate ?? false,
      });
      const texts: string[] = [];
      got.push(texts);
      c.on('message', (data, binary) => texts.push(binary ? '<binary>' : String(data)));
      clients.push(c);
    }
    await connected;
    await Promise.all(
      clients.map((c) => (c.readyState === 1 ? undefined : new Promise((r) => c.once('open', r)))),
    );
    return { serverSide, got };
  }

  async function until(cond: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(cond()).toBe(true);
  }

  it('broadcasts one frame to every socket, in order with ws.send frames, and frames a payload once', async () => {
    const { serverSide, got } = await setup(5);
    const writer = new FrameWriter();
    const expected: string[] = [];
    for (let i = 0; i < 50; i++) {
      const text = JSON.stringify({ i, pad: 'p'.repeat(i * 50) });
      expected.push(text);
      for (const ws of serverSide) writer.send(ws, text);
      if (i % 10 === 0) {
        // ws's own writes (acks, pings) interleave at frame boundaries only.
        expected.push(`ws${i}`);
        for (const ws of serverSide) ws.send(`ws${i}`);
      }
    }
    const big = 'z'.repeat(100_000);
    expected.push(big);
    for (const ws of serverSide) writer.send(ws, big);
    expect(writer.frameOf(big)).toBe(writer.frameOf(big));
    await until(() => got.every((g) => g.length === expected.length));
    for (const g of got) expect(g).toEqual(expected);
  });

  it("holds a turn's frames corked and sends them at the end of the turn; ws.bufferedAmount counts them", async () => {
    const { serverSide, got } = await setup(1);
    const ws = serverSide[0]!;
    const socket = directSocket(ws)!;
    const writer = new FrameWriter();
    writer.send(ws, 'one');
    writer.send(ws, 'two');
    expect(socket.writableCorked).toBe(1);
    expect(ws.bufferedAmount).toBe(2 * (2 + 3));
    await new Promise((r) => setImmediate(r));
    expect(socket.writableCorked).toBe(0);
    await until(() => got[0]!.length === 2);
    expect(got[0]).toEqual(['one', 'two']);
  });

  it('falls back to ws.send when permessage-deflate is negotiated', async () => {
    const { serverSide, got } = await setup(1, { perMessageDeflate: true });
    const ws = serverSide[0]!;
    expect(ws.extensions).toContain('permessage-deflate');
    expect(directSocket(ws)).toBeUndefined();
    const writer = new FrameWriter();
    writer.send(ws, 'deflated');
    await until(() => got[0]!.length === 1);
    expect(got[0]).toEqual(['deflated']);
  });

  it('writes nothing directly once the connection is closing', async () => {
    const { serverSide } = await setup(1);
    const ws = serverSide[0]!;
    ws.close(1000, 'bye');
    expect(directSocket(ws)).toBeUndefined();
  });
});
