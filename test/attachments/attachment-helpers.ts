import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { expect } from 'vitest';
import type { BuildOptions } from '../../src/app.js';
import type { BlobStore } from '../../src/attachments/blob-store.js';
import { LocalBlobStore } from '../../src/attachments/local-blob-store.js';
import { S3BlobStore } from '../../src/attachments/s3-blob-store.js';
import type { Backend } from '../helpers/backends.js';
import type { TestS3Server } from '../helpers/s3-server.js';
import { type ApiResponse, startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { expectOk } from '../http/http-helpers.js';

/** Shared setup and shortcuts for the attachment suites in this folder. */

export type BlobBackend = 'local' | 's3';

/** The JWT_SECRET startTestApp uses; the local URL signer derives its key from it. */
export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123';

export interface AttApp extends TestApp {
  blob: BlobBackend;
  /** FILES_DIR of the local backend. */
  filesDir: string | undefined;
  /** A second handle on the same storage, to look at what is stored. */
  blobs: BlobStore;
  /** Closes the app, the inspection handle and the files directory. */
  close(): Promise<void>;
}

/** A test app whose attachments live in a fresh directory (local) or in the given s3rver. */
export async function startAttApp(
  backend: Backend,
  blob: BlobBackend,
  s3: TestS3Server | undefined,
  env: Record<string, string> = {},
  build: Omit<BuildOptions, 'logger' | 'pgSchema'> = {},
): Promise<AttApp> {
  let filesDir: string | undefined;
  let blobs: BlobStore;
  let storageEnv: Record<string, string>;
  if (blob === 'local') {
    filesDir = mkdtempSync(path.join(tmpdir(), 'sb-att-files-'));
    storageEnv = { FILE_STORAGE: 'local', FILES_DIR: filesDir };
    blobs = new LocalBlobStore(filesDir);
  } else {
    if (!s3) throw new Error('startAttApp: s3 backend needs a running s3rver');
    storageEnv = {
      FILE_STORAGE: 's3',
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_REGION: s3.region,
    };
    blobs = new S3BlobStore({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
  }
  const t = await startTestApp(
    backend,
    { RETENTION_INTERVAL_MS: '0', RESUME_WAIT_MS: '50', ...storageEnv, ...env },
    build,
  );
  // A file response can still be finishing (EOF read, file close) after the client has all its
  // Content-Length bytes. Closing the server in that window leaves the keep-alive connection open
  // until Fastify's keepAliveTimeout (72 s), so close() waits for responses to finish first.
  const inflight = new Set<ServerResponse>();
  t.sb.http.server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    inflight.add(res);
    res.once('close', () => inflight.delete(res));
  });
  return {
    ...t,
    blob,
    filesDir,
    blobs,
    async close() {
      await eventually(() => expect(inflight.size).toBe(0), 5000).catch(() => {});
      await t.close();
      await blobs.close();
      if (filesDir) rmSync(filesDir, { recursive: true, force: true });
    },
  };
}

/** Storage keys of an attachment (see AttachmentsService.declare). */
export function keysOf(roomId: string, attachmentId: string) {
  const dir = `att/${roomId}/${attachmentId}`;
  return { dir, original: `${dir}/original`, thumbnail: `${dir}/thumbnail` };
}

/** Which of the attachment's blobs exist in storage (HeadObject for S3). */
export async function storedBlobs(t: AttApp, roomId: string, attachmentId: string): Promise<string[]> {
  const k = keysOf(roomId, attachmentId);
  const out: string[] = [];
  for (const key of [k.original, k.thumbnail]) if (await t.blobs.head(key)) out.push(key);
  return out;
}

/** Every file under the local FILES_DIR, relative to it (temp files included). */
export function filesOnDisk(t: AttApp): string[] {
  if (!t.filesDir) return [];
  return (readdirSync(t.filesDir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(t.filesDir!, path.join(d.parentPath, d.name)));
}

/** Asserts nothing of the attachment is left in storage (and, for local, not even its directory). */
export async function expectNoBlobs(t: AttApp, roomId: string, attachmentId: string): Promise<void> {
  expect(await storedBlobs(t, roomId, attachmentId)).toEqual([]);
  if (t.filesDir) {
    expect(filesOnDisk(t).filter((f) => f.includes(attachmentId))).toEqual([]);
  }
}

/** The attachment's row, if any (deleted or not). */
export async function attachmentRow(t: TestApp, attachmentId: string) {
  return t.sb.store.db
    .selectFrom('attachments')
    .selectAll()
    .where('id', '=', attachmentId)
    .executeTakeFirst();
}

/** Rows a user uploaded, including ones marked deleted but not yet purged. */
export async function rowsOf(t: TestApp, user: TestUser) {
  return t.sb.store.db.selectFrom('attachments').selectAll().where('uploader_id', '=', user.userId).execute();
}

// ---------------------------------------------------------------------------------------------
// Images

export async function pngImage(width: number, height: number, color = { r: 200, g: 40, b: 40 }) {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .png()
    .toBuffer();
}

export async function jpegImage(width: number, height: number, orientation?: number) {
  const img = sharp({ create: { width, height, channels: 3, background: { r: 20, g: 120, b: 220 } } });
  return (orientation ? img.withMetadata({ orientation }) : img).jpeg().toBuffer();
}

/**
 * A tiny PNG whose header claims `width`×`height` (a decompression bomb as far as the header
 * goes): the IHDR fields are rewritten and its CRC recomputed, the pixel data is a 1×1 image's.
 */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await pngImage(1, 1));
  // Signature (8) + IHDR length (4) + "IHDR" (4), then width and height.
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

// ---------------------------------------------------------------------------------------------
// Upload and download

export interface Decl {
  fileName: string;
  mimeType: string;
  size: number;
}

export function declare(t: TestApp, user: TestUser | undefined, roomId: string, decl: unknown) {
  return t.api('POST', `/v1/chat/rooms/${roomId}/attachments`, { token: user?.token, body: decl });
}

/** An absolute URL for a URL the server handed out (local ones are relative to it). */
export function absolute(t: TestApp, url: string): string {
  return /^https?:\/\//.test(url) ? url : t.baseUrl + url;
}

/** PUTs bytes to a signed upload URL with the headers it came with (plus any overrides). */
export async function putBytes(
  t: TestApp,
  upload: { url: string; headers: Record<string, string> },
  bytes: Buffer,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(absolute(t, upload.url), {
    method: 'PUT',
    headers: { ...upload.headers, ...headers },
    body: new Uint8Array(bytes),
  });
}

export async function json(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}

export function complete(t: TestApp, user: TestUser | undefined, roomId: string, attachmentId: string) {
  return t.api('POST', `/v1/chat/rooms/${roomId}/attachments/${attachmentId}/complete`, {
    token: user?.token,
  });
}

/**
 * The whole presigned flow: declare, PUT, and (for S3) complete. Asserts each step and answers the
 * ready attachment.
 */
export async function upload(
  t: AttApp,
  user: TestUser,
  roomId: string,
  file: { fileName: string; mimeType: string; bytes: Buffer },
): Promise<any> {
  const declared = expectOk(
    await declare(t, user, roomId, {
      fileName: file.fileName,
      mimeType: file.mimeType,
      size: file.bytes.length,
    }),
    201,
  );
  const put = await putBytes(t, declared.upload, file.bytes);
  const putBody = await json(put);
  expect(put.status, JSON.stringify(putBody)).toBe(200);
  if (t.blob === 'local') {
    expect(putBody.data.status).toBe('ready');
    return putBody.data;
  }
  return expectOk(await complete(t, user, roomId, declared.attachment.id));
}

/** A declared upload never PUT (pending). */
export async function pending(t: TestApp, user: TestUser, roomId: string, size = 3, mimeType = 'text/plain') {
  return expectOk(await declare(t, user, roomId, { fileName: 'later.txt', mimeType, size }), 201);
}

/** Direct upload: the bytes are the request body. */
export async function uploadDirect(
  t: TestApp,
  user: TestUser | undefined,
  roomId: string,
  fileName: string,
  mimeType: string,
  bytes: Buffer,
): Promise<ApiResponse> {
  const res = await fetch(
    `${t.baseUrl}/v1/chat/rooms/${roomId}/attachments/content?fileName=${encodeURIComponent(fileName)}`,
    {
      method: 'POST',
      headers: { 'content-type': mimeType, ...(user ? { authorization: `Bearer ${user.token}` } : {}) },
      body: new Uint8Array(bytes),
    },
  );
  return { status: res.status, body: await json(res), headers: res.headers };
}

/** Sends a message with attachments over REST (content empty unless given). */
export function sendWith(
  t: TestApp,
  user: TestUser,
  roomId: string,
  attachments: string[],
  extra: Record<string, unknown> = {},
) {
  return t.api('POST', `/v1/chat/rooms/${roomId}/messages`, {
    token: user.token,
    body: { content: '', attachments, ...extra },
  });
}

/** GET with an optional bearer token and no redirect following. */
export function getRaw(t: TestApp, url: string, token?: string): Promise<Response> {
  return fetch(absolute(t, url), {
    redirect: 'manual',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/**
 * Follows a stable attachment URL: GET with the bearer token must answer 302 to a signed URL, which
 * is then fetched without a token. Answers the signed URL and the final response.
 */
export async function download(
  t: TestApp,
  user: TestUser,
  stableUrl: string,
): Promise<{ signedUrl: string; res: Response; bytes: Buffer }> {
  const redirect = await getRaw(t, stableUrl, user.token);
  expect(redirect.status, await redirect.clone().text()).toBe(302);
  expect(redirect.headers.get('cache-control')).toBe('no-store');
  const signedUrl = redirect.headers.get('location')!;
  expect(signedUrl).toBeTruthy();
  const res = await fetch(absolute(t, signedUrl));
  const bytes = Buffer.from(await res.arrayBuffer());
  return { signedUrl, res, bytes };
}

/** A signed URL with one query parameter changed. */
export function withParam(url: string, name: string, value: string): string {
  const u = new URL(url, 'http://placeholder');
  u.searchParams.set(name, value);
  return /^https?:\/\//.test(url) ? u.toString() : `${u.pathname}${u.search}`;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP, for what fetch will not send

export interface RawResult {
  /** Status of the first response, or undefined when the server closed without answering. */
  status: number | undefined;
  text: string;
}

/**
 * Writes a request byte for byte on a fresh TCP connection. With `abortAfterMs` the socket is
 * destroyed that long after writing (a client that dies mid-body); otherwise reads until the server
 * closes or `timeoutMs` passes.
 */
export function rawRequest(
  t: TestApp,
  head: string,
  body: Buffer,
  opts: { abortAfterMs?: number; timeoutMs?: number } = {},
): Promise<RawResult> {
  const { port } = new URL(t.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let text = '';
    const done = () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : undefined, text });
    };
    const timer = setTimeout(
      () => {
        socket.destroy();
        done();
      },
      opts.abortAfterMs ?? opts.timeoutMs ?? 3000,
    );
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('close', done);
    socket.on('error', (err) => {
      if (opts.abortAfterMs === undefined) reject(err);
    });
    socket.write(Buffer.concat([Buffer.from(head.replace(/\n/g, '\r\n')), body]));
  });
}

/** Polls until `check` passes or `ms` elapses (server-side cleanup after an aborted request). */
export async function eventually(check: () => Promise<void> | void, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
