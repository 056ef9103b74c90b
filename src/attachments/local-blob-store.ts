import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  assertContentType,
  assertDeclaredSize,
  assertSafeKey,
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  type PutInfo,
  sizeMismatch,
} from './blob-store.js';

/**
 * On-disk layout: `<root>/<key>@blob`, one file per blob holding a small header (magic, u32 length,
 * JSON `{contentType}`) followed by the bytes. Keeping metadata in the same file means a single
 * rename replaces data and content type together, so readers never see a mismatched pair.
 * `@` is outside the key alphabet, so a blob file can never collide with the directory of a longer key.
 */
const MAGIC = Buffer.from('SBB1');
const PREFIX_LEN = MAGIC.length + 4;
const MAX_HEADER_LEN = 4096;
const DATA_SUFFIX = '@blob';
const TMP_MARK = '@tmp-';
const DELETE_CONCURRENCY = 16;

interface Header {
  contentType: string;
  dataOffset: number;
}

export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const;
  private readonly root: string;

  constructor(rootDir: string) {
    this.root = path.resolve(rootDir);
  }

  async put(key: string, body: BlobBody, info: PutInfo): Promise<void> {
    const file = this.pathFor(key);
    assertContentType(info.contentType);
    assertDeclaredSize(info.size);
    if (Buffer.isBuffer(body) && info.size !== undefined && body.length !== info.size) {
      throw sizeMismatch(info.size, `${body.length}`);
    }
    // Temp file in the same directory so the final rename is atomic (same filesystem).
    const tmp = `${file}${TMP_MARK}${randomBytes(8).toString('hex')}`;
    const fh = await openTemp(tmp);
    let closed = false;
    try {
      await writeAll(fh, encodeHeader(info.contentType));
      const written = Buffer.isBuffer(body)
        ? await writeBuffer(fh, body)
        : await writeStream(fh, body, info.size);
      if (info.size !== undefined && written !== info.size) throw sizeMismatch(info.size, `${written}`);
      await fh.sync();
      await fh.close();
      closed = true;
      await rename(tmp, file);
    } catch (err) {
      if (!closed) await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  async get(key: string): Promise<{ body: Readable; info: BlobInfo } | undefined> {
    const fh = await openExisting(this.pathFor(key));
    if (!fh) return undefined;
    try {
      const header = await readHeader(fh);
      const { size } = await fh.stat();
      // Reading from the already-open handle: a concurrent overwrite (rename) cannot tear this read.
      const body = fh.createReadStream({ start: header.dataOffset });
      return { body, info: { size: size - header.dataOffset, contentType: header.contentType } };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    const fh = await openExisting(this.pathFor(key));
    if (!fh) return undefined;
    try {
      const header = await readHeader(fh);
      const { size } = await fh.stat();
      return { size: size - header.dataOffset, contentType: header.contentType };
    } finally {
      await fh.close();
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathFor(key);
    try {
      await unlink(file);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    await this.pruneEmptyDirs(path.dirname(file));
  }

  async deleteMany(keys: string[]): Promise<void> {
    // Validate everything first so an unsafe key rejects the call before anything is deleted.
    for (const key of keys) assertSafeKey(key);
    for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
      await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((key) => this.delete(key)));
    }
  }

  async close(): Promise<void> {}

  private pathFor(key: string): string {
    assertSafeKey(key);
    const file = path.resolve(this.root, key + DATA_SUFFIX);
    // Defense in depth: assertSafeKey already rules out anything that could climb out of root.
    if (!file.startsWith(this.root + path.sep)) throw new Error(`Unsafe blob key: ${JSON.stringify(key)}`);
    return file;
  }

  /** Per-attachment directories would otherwise accumulate forever. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    while (dir.startsWith(this.root + path.sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone / raced with a put): stop climbing
      }
      dir = path.dirname(dir);
    }
  }
}

function encodeHeader(contentType: string): Buffer {
  const json = Buffer.from(JSON.stringify({ contentType }));
  const prefix = Buffer.alloc(PREFIX_LEN);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32BE(json.length, MAGIC.length);
  return Buffer.concat([prefix, json]);
}

async function readHeader(fh: FileHandle): Promise<Header> {
  const prefix = await readExactly(fh, 0, PREFIX_LEN);
  const len = prefix.readUInt32BE(MAGIC.length);
  if (!prefix.subarray(0, MAGIC.length).equals(MAGIC) || len > MAX_HEADER_LEN) {
    throw new Error('Corrupt blob file header');
  }
  const parsed: unknown = JSON.parse((await readExactly(fh, PREFIX_LEN, len)).toString('utf8'));
  const contentType = (parsed as { contentType?: unknown } | null)?.contentType;
  if (typeof contentType !== 'string') throw new Error('Corrupt blob file header');
  return { contentType, dataOffset: PREFIX_LEN + len };
}

async function readExactly(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let off = 0;
  while (off < length) {
    const { bytesRead } = await fh.read(buf, off, length - off, position + off);
    if (bytesRead === 0) throw new Error('Corrupt blob file header');
    off += bytesRead;
  }
  return buf;
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

async function writeBuffer(fh: FileHandle, buf: Buffer): Promise<number> {
  await writeAll(fh, buf);
  return buf.length;
}

/** Copies the stream, failing as soon as it exceeds the declared size (the rest is never read). */
async function writeStream(
  fh: FileHandle,
  body: Readable | NodeJS.ReadableStream,
  size: number | undefined,
): Promise<number> {
  let written = 0;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    written += buf.length;
    if (size !== undefined && written > size) throw sizeMismatch(size, `more than ${size}`);
    await writeAll(fh, buf);
  }
  return written;
}

/** A concurrent delete may prune the directory between mkdir and open; retry a few times. */
async function openTemp(tmp: string): Promise<FileHandle> {
  for (let attempt = 0; ; attempt++) {
    await mkdir(path.dirname(tmp), { recursive: true });
    try {
      return await open(tmp, 'wx');
    } catch (err) {
      if (!isMissing(err) || attempt >= 3) throw err;
    }
  }
}

async function openExisting(file: string): Promise<FileHandle | undefined> {
  try {
    return await open(file, 'r');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
