import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  assertContentType,
  assertDeclaredSize,
  assertSafeKey,
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  type PresignedUpload,
  type PresignGetOptions,
  type PresignPutOptions,
  type PutInfo,
  sizeMismatch,
} from './blob-store.js';

export interface S3BlobStoreOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Both or neither; when absent the SDK's default credential chain is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Host used in presigned URLs when clients reach storage differently than the server does. */
  publicEndpoint?: string;
  /** PutObject needs a length up front, so streams of unknown size are buffered up to this. */
  maxBufferedUploadBytes?: number;
}

const DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024;
const DELETE_BATCH = 1000; // DeleteObjects hard limit
const MAX_PRESIGN_SEC = 7 * 24 * 3600; // SigV4 hard limit

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  private readonly bucket: string;
  private readonly client: S3Client;
  private readonly presignClient: S3Client;
  private readonly maxBuffered: number;

  constructor(opts: S3BlobStoreOptions) {
    this.bucket = opts.bucket;
    this.maxBuffered = opts.maxBufferedUploadBytes ?? DEFAULT_MAX_BUFFERED;
    const base: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      credentials:
        opts.accessKeyId && opts.secretAccessKey
          ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }
          : undefined,
      // The SDK default (WHEN_SUPPORTED) sends streams as aws-chunked with trailing CRC32, which many
      // S3-compatible servers store verbatim, and bakes a CRC32 of the *empty* body into presigned
      // PUT URLs. Only checksum where the API requires it (DeleteObjects).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    this.client = new S3Client({ ...base, endpoint: opts.endpoint });
    // Presigning is offline, so a second client just swaps the host that goes into the URL.
    this.presignClient = opts.publicEndpoint
      ? new S3Client({ ...base, endpoint: opts.publicEndpoint })
      : this.client;
  }

  async put(key: string, body: BlobBody, info: PutInfo): Promise<void> {
    assertSafeKey(key);
    assertContentType(info.contentType);
    assertDeclaredSize(info.size);
    const { size } = info;
    // Buffers, unknown sizes, and empty declared sizes (a zero-length request is complete before
    // the body could be checked) go up as a buffer whose length is verified first.
    if (Buffer.isBuffer(body) || size === undefined || size === 0) {
      const buf = Buffer.isBuffer(body)
        ? body
        : size === undefined
          ? await bufferAtMost(
              body,
              this.maxBuffered,
              () => new Error(`Upload of unknown size exceeds the ${this.maxBuffered}-byte buffer limit`),
            )
          : await bufferAtMost(body, 0, () => sizeMismatch(0, 'more than 0'));
      if (size !== undefined && buf.length !== size) throw sizeMismatch(size, `${buf.length}`);
      await this.client.send(this.putCommand(key, buf, info.contentType, buf.length));
      return;
    }
    // Stream with a declared size: send it as-is, but abort the request as soon as the body turns
    // out longer or shorter than declared, so S3 never completes (and never stores) the object.
    const abort = new AbortController();
    let bodyError: unknown;
    const guarded = Readable.from(exactly(body, size), { objectMode: false });
    guarded.once('error', (err) => {
      bodyError = err;
      abort.abort(err);
    });
    try {
      await this.client.send(this.putCommand(key, guarded, info.contentType, size), {
        abortSignal: abort.signal,
      });
    } catch (err) {
      throw bodyError ?? err;
    }
  }

  async get(key: string): Promise<{ body: Readable; info: BlobInfo } | undefined> {
    assertSafeKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!(out.Body instanceof Readable)) throw new Error('S3 GetObject returned a non-Node stream body');
      return { body: out.Body, info: toInfo(out.ContentLength, out.ContentType) };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    assertSafeKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return toInfo(out.ContentLength, out.ContentType);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    // S3 DeleteObject already succeeds for missing keys.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async deleteMany(keys: string[]): Promise<void> {
    for (const key of keys) assertSafeKey(key);
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += DELETE_BATCH) {
      const batch = unique.slice(i, i + DELETE_BATCH);
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      // DeleteObjects reports per-key failures in a 200 response; surface them.
      const first = out.Errors?.[0];
      if (first) {
        throw new Error(
          `S3 DeleteObjects failed for ${out.Errors?.length} key(s), e.g. ${first.Key}: ${first.Code} ${first.Message}`,
        );
      }
    }
  }

  async presignPut(key: string, opts: PresignPutOptions): Promise<PresignedUpload> {
    assertSafeKey(key);
    assertContentType(opts.contentType);
    assertDeclaredSize(opts.size);
    const expiresIn = checkExpiry(opts.expiresInSec);
    const signingDate = new Date();
    const url = await getSignedUrl(
      this.presignClient,
      this.putCommand(key, undefined, opts.contentType, opts.size),
      {
        expiresIn,
        signingDate,
        // The presigner marks content-type unsignable by default; signableHeaders overrides that, so
        // the uploader must send exactly this type and length. Neither is an x-amz-* header, so
        // neither gets hoisted into the query string (no unhoistableHeaders needed).
        signableHeaders: new Set(['content-type', 'content-length']),
      },
    );
    // X-Amz-Date has second precision; expiry counts from the truncated timestamp.
    const expiresAt = new Date(Math.floor(signingDate.getTime() / 1000) * 1000 + expiresIn * 1000);
    return {
      url,
      method: 'PUT',
      headers: { 'content-type': opts.contentType },
      expiresAt: expiresAt.toISOString(),
    };
  }

  async presignGet(key: string, opts: PresignGetOptions): Promise<string> {
    assertSafeKey(key);
    if (opts.contentType !== undefined) assertContentType(opts.contentType);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition:
        opts.fileName !== undefined ? attachmentDisposition(opts.fileName) : undefined,
      ResponseContentType: opts.contentType,
    });
    return getSignedUrl(this.presignClient, command, { expiresIn: checkExpiry(opts.expiresInSec) });
  }

  async close(): Promise<void> {
    this.client.destroy();
    if (this.presignClient !== this.client) this.presignClient.destroy();
  }

  private putCommand(key: string, body: Buffer | Readable | undefined, contentType: string, size: number) {
    return new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
      ContentLength: size,
    });
  }
}

/**
 * `attachment` disposition with an ASCII fallback plus RFC 6266/5987 `filename*` for the real name.
 * Control characters, quotes and backslashes never reach the header.
 */
export function attachmentDisposition(fileName: string): string {
  const clean = fileName.replace(/\p{Cc}/gu, '') || 'download';
  const ascii = clean.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(clean).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

function checkExpiry(sec: number): number {
  if (!Number.isInteger(sec) || sec < 1 || sec > MAX_PRESIGN_SEC) {
    throw new Error(`expiresInSec must be an integer in 1..${MAX_PRESIGN_SEC}`);
  }
  return sec;
}

function toInfo(size: number | undefined, contentType: string | undefined): BlobInfo {
  return { size: size ?? 0, contentType: contentType ?? 'application/octet-stream' };
}

/** Only a missing *key* is "undefined"; a missing bucket on GET stays an error (NoSuchBucket). */
function isMissing(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound';
}

/**
 * Yields the body while checking it is exactly `size` bytes. Each chunk is held back until the next
 * one arrives (or the source ends): once `size` bytes are on the wire the HTTP request is complete
 * and S3 would store it, so the final bytes must only go out after the length is confirmed.
 */
async function* exactly(body: Readable | NodeJS.ReadableStream, size: number): AsyncGenerator<Buffer> {
  let seen = 0;
  let pending: Buffer | undefined;
  for await (const buf of chunks(body)) {
    seen += buf.length;
    if (seen > size) throw sizeMismatch(size, `more than ${size}`);
    if (pending) yield pending;
    pending = buf;
  }
  if (seen !== size) throw sizeMismatch(size, `${seen}`);
  if (pending) yield pending;
}

async function bufferAtMost(
  body: Readable | NodeJS.ReadableStream,
  limit: number,
  tooLong: () => Error,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const buf of chunks(body)) {
    total += buf.length;
    if (total > limit) throw tooLong();
    parts.push(buf);
  }
  return Buffer.concat(parts, total);
}

async function* chunks(body: Readable | NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
}
