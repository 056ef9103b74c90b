import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertSafeKey, type BlobStore } from '../../src/attachments/blob-store.js';
import { LocalBlobStore } from '../../src/attachments/local-blob-store.js';
import { attachmentDisposition, S3BlobStore } from '../../src/attachments/s3-blob-store.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';

interface Harness {
  store: BlobStore;
  cleanup(): Promise<void>;
}

interface Backend {
  name: 'local' | 's3';
  create(): Promise<Harness>;
}

const localBackend: Backend = {
  name: 'local',
  async create() {
    const root = await mkdtemp(path.join(tmpdir(), 'switchboard-blobs-'));
    const store = new LocalBlobStore(root);
    return { store, cleanup: () => rm(root, { recursive: true, force: true }) };
  },
};

function s3StoreFor(
  server: TestS3Server,
  extra: { publicEndpoint?: string; maxBufferedUploadBytes?: number } = {},
) {
  return new S3BlobStore({
    bucket: server.bucket,
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    ...extra,
  });
}

const s3Backend: Backend = {
  name: 's3',
  async create() {
    const server = await startS3Server();
    const store = s3StoreFor(server);
    return {
      store,
      async cleanup() {
        await store.close();
        await server.close();
      },
    };
  },
};

const newKey = (name = 'original') => `att/room-1/${randomUUID()}/${name}`;

function chunked(buf: Buffer, chunkSize = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) chunks.push(buf.subarray(i, i + chunkSize));
  return Readable.from(chunks, { objectMode: false });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

async function getBytes(store: BlobStore, key: string) {
  const got = await store.get(key);
  if (!got) return undefined;
  return { bytes: await readAll(got.body), info: got.info };
}

const UNSAFE_KEYS = [
  '',
  '/att/x',
  '../x',
  'att/../x',
  'att/..',
  'att/./x',
  'att//x',
  'att/x/',
  'att\\x',
  'att/x y',
  'att/é',
  'att/x\0',
  'att/%2e%2e',
  'a'.repeat(513),
];

describe.each([localBackend, s3Backend])('BlobStore contract: $name', (backend) => {
  let h: Harness;
  let store: BlobStore;

  beforeAll(async () => {
    h = await backend.create();
    store = h.store;
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it('reports its kind', () => {
    expect(store.kind).toBe(backend.name);
  });

  it('round-trips a buffer', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('hello buffer'), { contentType: 'text/plain' });
    const got = await getBytes(store, key);
    expect(got?.bytes.toString()).toBe('hello buffer');
    expect(got?.info).toEqual({ size: 12, contentType: 'text/plain' });
  });

  it('round-trips a stream with a declared size', async () => {
    const key = newKey();
    await store.put(key, chunked(Buffer.from('hello stream'), 5), { contentType: 'text/plain', size: 12 });
    expect((await getBytes(store, key))?.bytes.toString()).toBe('hello stream');
  });

  it('round-trips a stream of unknown size', async () => {
    const key = newKey();
    await store.put(key, chunked(Buffer.from('no size given'), 4), { contentType: 'text/plain' });
    const got = await getBytes(store, key);
    expect(got?.bytes.toString()).toBe('no size given');
    expect(got?.info.size).toBe(13);
  });

  it('head returns size and content type without the body', async () => {
    const key = newKey();
    await store.put(key, Buffer.alloc(321, 7), { contentType: 'application/pdf' });
    expect(await store.head(key)).toEqual({ size: 321, contentType: 'application/pdf' });
  });

  it('returns undefined for a missing key', async () => {
    const key = newKey();
    expect(await store.get(key)).toBeUndefined();
    expect(await store.head(key)).toBeUndefined();
  });

  it('overwrites content and content type', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('first version, longer'), { contentType: 'text/plain' });
    await store.put(key, Buffer.from('second'), { contentType: 'application/json' });
    const got = await getBytes(store, key);
    expect(got?.bytes.toString()).toBe('second');
    expect(got?.info).toEqual({ size: 6, contentType: 'application/json' });
  });

  it('deletes, and deleting again or deleting a never-stored key is fine', async () => {
    const key = newKey();
    const sibling = newKey('thumb');
    await store.put(key, Buffer.from('x'), { contentType: 'text/plain' });
    await store.put(sibling, Buffer.from('y'), { contentType: 'text/plain' });
    await store.delete(key);
    expect(await store.head(key)).toBeUndefined();
    expect(await store.get(key)).toBeUndefined();
    await expect(store.delete(key)).resolves.toBeUndefined();
    await expect(store.delete(newKey())).resolves.toBeUndefined();
    expect(await store.head(sibling)).toEqual({ size: 1, contentType: 'text/plain' });
  });

  it('deleteMany removes exactly the given keys, tolerating missing ones and duplicates', async () => {
    const doomed = [newKey(), newKey(), newKey()];
    const kept = newKey();
    for (const key of [...doomed, kept])
      await store.put(key, Buffer.from(key), { contentType: 'text/plain' });
    await store.deleteMany([...doomed, doomed[0]!, newKey()]);
    for (const key of doomed) expect(await store.head(key)).toBeUndefined();
    expect((await getBytes(store, kept))?.bytes.toString()).toBe(kept);
    await expect(store.deleteMany([])).resolves.toBeUndefined();
  });

  it('accepts the documented key shape', async () => {
    const key = `att/r_1-x.y/${randomUUID()}/original.v2`;
    expect(() => assertSafeKey(key)).not.toThrow();
    expect(() => assertSafeKey('a'.repeat(512))).not.toThrow();
    await store.put(key, Buffer.from('ok'), { contentType: 'text/plain' });
    expect(await store.head(key)).toEqual({ size: 2, contentType: 'text/plain' });
  });

  it.each(UNSAFE_KEYS.map((k) => [JSON.stringify(k).slice(0, 40), k]))(
    'rejects unsafe key %s',
    async (_, key) => {
      expect(() => assertSafeKey(key)).toThrow(/Unsafe blob key/);
      await expect(store.put(key, Buffer.from('x'), { contentType: 'text/plain' })).rejects.toThrow(
        /Unsafe blob key/,
      );
      await expect(store.get(key)).rejects.toThrow(/Unsafe blob key/);
      await expect(store.head(key)).rejects.toThrow(/Unsafe blob key/);
      await expect(store.delete(key)).rejects.toThrow(/Unsafe blob key/);
    },
  );

  it('deleteMany with one unsafe key deletes nothing', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('x'), { contentType: 'text/plain' });
    await expect(store.deleteMany([key, '../etc/passwd'])).rejects.toThrow(/Unsafe blob key/);
    expect(await store.head(key)).toBeDefined();
  });

  it('rejects a stream longer than declared and stores nothing', async () => {
    const key = newKey();
    await expect(
      store.put(key, chunked(randomBytes(10_000), 1000), { contentType: 'image/png', size: 4000 }),
    ).rejects.toThrow(/size mismatch/);
    expect(await store.head(key)).toBeUndefined();
    expect(await store.get(key)).toBeUndefined();
  });

  it('rejects a stream shorter than declared and stores nothing', async () => {
    const key = newKey();
    await expect(
      store.put(key, chunked(randomBytes(3000), 1000), { contentType: 'image/png', size: 4000 }),
    ).rejects.toThrow(/size mismatch/);
    expect(await store.head(key)).toBeUndefined();
    expect(await store.get(key)).toBeUndefined();
  });

  it('rejects a non-empty stream declared as empty and stores nothing', async () => {
    const key = newKey();
    await expect(
      store.put(key, chunked(Buffer.from('surprise')), { contentType: 'text/plain', size: 0 }),
    ).rejects.toThrow(/size mismatch/);
    expect(await store.head(key)).toBeUndefined();
  });

  it('stores an empty stream declared as empty', async () => {
    const key = newKey();
    await store.put(key, Readable.from([]), { contentType: 'text/plain', size: 0 });
    expect(await store.head(key)).toEqual({ size: 0, contentType: 'text/plain' });
  });

  it('rejects a buffer whose length differs from the declared size', async () => {
    const key = newKey();
    await expect(store.put(key, Buffer.from('abc'), { contentType: 'text/plain', size: 4 })).rejects.toThrow(
      /size mismatch/,
    );
    expect(await store.head(key)).toBeUndefined();
  });

  it('rejects when the source stream fails and stores nothing', async () => {
    const key = newKey();
    async function* failing() {
      yield Buffer.from('partial data');
      throw new Error('client went away');
    }
    await expect(
      store.put(key, Readable.from(failing(), { objectMode: false }), {
        contentType: 'text/plain',
        size: 100,
      }),
    ).rejects.toThrow(/client went away/);
    expect(await store.head(key)).toBeUndefined();
  });

  it('preserves content type parameters', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('héllo'), { contentType: 'text/plain; charset=utf-8' });
    expect((await store.head(key))?.contentType).toBe('text/plain; charset=utf-8');
    const got = await store.get(key);
    got?.body.destroy(); // only the info is of interest; release the file handle / socket
    expect(got?.info.contentType).toBe('text/plain; charset=utf-8');
  });

  it('rejects an invalid content type', async () => {
    await expect(
      store.put(newKey(), Buffer.from('x'), { contentType: 'text/plain\r\nx: y' }),
    ).rejects.toThrow(/content type/);
  });

  it('keeps ~1 MB of random binary data intact (stream and buffer)', async () => {
    const data = randomBytes(1024 * 1024 + 17);
    const viaStream = newKey();
    const viaBuffer = newKey();
    await store.put(viaStream, chunked(data), { contentType: 'application/octet-stream', size: data.length });
    await store.put(viaBuffer, data, { contentType: 'application/octet-stream' });
    for (const key of [viaStream, viaBuffer]) {
      const got = await getBytes(store, key);
      expect(got?.info.size).toBe(data.length);
      expect(got?.bytes.length).toBe(data.length);
      expect(got?.bytes.equals(data)).toBe(true);
    }
  });
});

describe('LocalBlobStore specifics', () => {
  let root: string;
  let store: LocalBlobStore;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'switchboard-blobs-'));
    store = new LocalBlobStore(root);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const listFiles = async () =>
    (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
      .sort();

  it('cannot presign (Switchboard serves local uploads and downloads itself)', () => {
    const asInterface: BlobStore = store;
    expect(asInterface.presignPut).toBeUndefined();
    expect(asInterface.presignGet).toBeUndefined();
  });

  it('lays blobs out under root, allows a key that is a prefix of another, and prunes empty dirs', async () => {
    const id = randomUUID();
    await store.put(`att/r/${id}`, Buffer.from('a'), { contentType: 'text/plain' });
    await store.put(`att/r/${id}/original`, Buffer.from('b'), { contentType: 'text/plain' });
    expect(await listFiles()).toEqual([`att/r/${id}/original@blob`, `att/r/${id}@blob`].sort());
    await store.deleteMany([`att/r/${id}`, `att/r/${id}/original`]);
    expect(await readdir(root)).toEqual([]);
  });

  it('a failed overwrite keeps the previous blob and leaves no temp file', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('old'), { contentType: 'text/plain' });
    const before = await listFiles();
    await expect(
      store.put(key, chunked(Buffer.from('new but too long'), 3), { contentType: 'image/png', size: 5 }),
    ).rejects.toThrow(/size mismatch/);
    expect(await listFiles()).toEqual(before);
    const got = await getBytes(store, key);
    expect(got?.bytes.toString()).toBe('old');
    expect(got?.info.contentType).toBe('text/plain');
  });
});

describe('S3BlobStore specifics (s3rver)', () => {
  let server: TestS3Server;
  let store: S3BlobStore;

  beforeAll(async () => {
    server = await startS3Server();
    store = s3StoreFor(server);
  });
  afterAll(async () => {
    await store?.close();
    await server?.close();
  });

  it('presigned PUT signs content type and length, and an upload with fetch() is readable', async () => {
    const key = newKey();
    const body = randomBytes(2048);
    const before = Date.now();
    const upload = await store.presignPut(key, {
      contentType: 'image/png',
      size: body.length,
      expiresInSec: 60,
    });
    expect(upload.method).toBe('PUT');
    expect(upload.headers).toEqual({ 'content-type': 'image/png' });
    const url = new URL(upload.url);
    expect(url.origin).toBe(server.endpoint);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    // No checksum of an empty body baked into the URL (SDK default WHEN_SUPPORTED would add one).
    expect(url.searchParams.has('x-amz-checksum-crc32')).toBe(false);
    const expiresAt = Date.parse(upload.expiresAt);
    expect(expiresAt).toBeGreaterThan(before + 58_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);

    const res = await fetch(upload.url, { method: upload.method, headers: upload.headers, body });
    expect(res.status).toBe(200);
    const got = await getBytes(store, key);
    expect(got?.info).toEqual({ size: body.length, contentType: 'image/png' });
    expect(got?.bytes.equals(body)).toBe(true);
  });

  it('presigned PUT with a different Content-Type than signed is refused', async () => {
    const key = newKey();
    const body = Buffer.from('<script>alert(1)</script>');
    const upload = await store.presignPut(key, {
      contentType: 'image/png',
      size: body.length,
      expiresInSec: 60,
    });
    const res = await fetch(upload.url, { method: 'PUT', headers: { 'content-type': 'text/html' }, body });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('SignatureDoesNotMatch');
    expect(await store.head(key)).toBeUndefined();
  });

  it('presigned PUT with a different Content-Length than signed is refused', async () => {
    const key = newKey();
    const upload = await store.presignPut(key, { contentType: 'image/png', size: 10, expiresInSec: 60 });
    const res = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: randomBytes(11) });
    expect(res.status).toBe(403);
    expect(await store.head(key)).toBeUndefined();
  });

  it('presigned GET downloads with the requested content-disposition and type', async () => {
    const key = newKey();
    const body = randomBytes(4096);
    await store.put(key, body, { contentType: 'application/octet-stream' });
    const url = await store.presignGet(key, {
      expiresInSec: 60,
      fileName: 'Quarterly "report" ü.pdf',
      contentType: 'application/pdf',
    });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="Quarterly _report_ _.pdf"; filename*=UTF-8''Quarterly%20%22report%22%20%C3%BC.pdf`,
    );
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
  });

  it('an expired presigned URL is refused', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('secret'), { contentType: 'text/plain' });
    const url = await store.presignGet(key, { expiresInSec: 1 });
    await sleep(2100);
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Request has expired');
  });

  it('a tampered presigned GET is refused', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('secret'), { contentType: 'text/plain' });
    const url = new URL(await store.presignGet(key, { expiresInSec: 60, fileName: 'a.txt' }));
    url.searchParams.set('response-content-disposition', 'inline');
    const res = await fetch(url);
    expect(res.status).toBe(403);
  });

  it('publicEndpoint changes only the host in presigned URLs', async () => {
    const publicEndpoint = server.endpoint.replace('127.0.0.1', 'localhost');
    const publicStore = s3StoreFor(server, { publicEndpoint });
    try {
      const key = newKey();
      const body = Buffer.from('via the public host');
      const upload = await publicStore.presignPut(key, {
        contentType: 'text/plain',
        size: body.length,
        expiresInSec: 60,
      });
      expect(new URL(upload.url).origin).toBe(publicEndpoint);
      const res = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body });
      expect(res.status).toBe(200);
      // Server-side operations still use the private endpoint.
      expect((await getBytes(publicStore, key))?.bytes.toString()).toBe('via the public host');
      expect(new URL(await publicStore.presignGet(key, { expiresInSec: 60 })).origin).toBe(publicEndpoint);
    } finally {
      await publicStore.close();
    }
  });

  it('refuses to buffer a stream of unknown size beyond the limit', async () => {
    const small = s3StoreFor(server, { maxBufferedUploadBytes: 1000 });
    try {
      const key = newKey();
      await expect(
        small.put(key, chunked(randomBytes(1001), 100), { contentType: 'text/plain' }),
      ).rejects.toThrow(/buffer limit/);
      expect(await small.head(key)).toBeUndefined();
    } finally {
      await small.close();
    }
  });

  it('rejects presign expiries outside 1 s .. 7 days', async () => {
    await expect(store.presignGet(newKey(), { expiresInSec: 0 })).rejects.toThrow(/expiresInSec/);
    await expect(
      store.presignPut(newKey(), { contentType: 'image/png', size: 1, expiresInSec: 8 * 24 * 3600 }),
    ).rejects.toThrow(/expiresInSec/);
  });

  it('attachmentDisposition strips control characters and quotes', () => {
    expect(attachmentDisposition('a\r\nb".txt')).toBe(
      `attachment; filename="ab_.txt"; filename*=UTF-8''ab%22.txt`,
    );
    expect(attachmentDisposition('')).toBe(`attachment; filename="download"; filename*=UTF-8''download`);
  });
});
