import type { Readable } from 'node:stream';

export interface BlobInfo {
  size: number;
  contentType: string;
}

export interface PresignedUpload {
  url: string;
  method: 'PUT';
  /** Headers the uploader must send verbatim (they are part of the signature). */
  headers: Record<string, string>;
  expiresAt: string;
}

export type BlobBody = Buffer | Readable | NodeJS.ReadableStream;

export interface PutInfo {
  contentType: string;
  /** Declared byte length; when given, a body of any other length is rejected and nothing is stored. */
  size?: number;
}

export interface PresignPutOptions {
  contentType: string;
  size: number;
  expiresInSec: number;
}

export interface PresignGetOptions {
  expiresInSec: number;
  /** Sets `Content-Disposition: attachment` with this file name on the download. */
  fileName?: string;
  contentType?: string;
}

export interface BlobStore {
  readonly kind: 'local' | 's3';
  /** Stores bytes under key (overwrites). Rejects keys that are not safe (see assertSafeKey). */
  put(key: string, body: BlobBody, info: PutInfo): Promise<void>;
  /** Stream + info, or undefined when missing. */
  get(key: string): Promise<{ body: Readable; info: BlobInfo } | undefined>;
  head(key: string): Promise<BlobInfo | undefined>;
  /** Idempotent: deleting a missing key is fine. */
  delete(key: string): Promise<void>;
  deleteMany(keys: string[]): Promise<void>;
  /** Direct-to-storage upload URL with content type and length signed; absent when the backend cannot. */
  presignPut?(key: string, opts: PresignPutOptions): Promise<PresignedUpload>;
  /** Direct download URL; absent when the backend cannot (local: Switchboard serves downloads itself). */
  presignGet?(key: string, opts: PresignGetOptions): Promise<string>;
  close(): Promise<void>;
}

export const MAX_KEY_LENGTH = 512;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Keys end up as file paths (local) and URL paths (S3), so only a conservative alphabet is allowed:
 * `/`-separated segments of `[A-Za-z0-9._-]`, no empty, `.` or `..` segments, no `..` anywhere.
 */
export function assertSafeKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new Error(`Unsafe blob key: length must be 1..${MAX_KEY_LENGTH}`);
  }
  if (key.includes('..')) throw new Error(`Unsafe blob key: ${JSON.stringify(key)}`);
  for (const segment of key.split('/')) {
    if (segment === '.' || !SEGMENT.test(segment)) {
      throw new Error(`Unsafe blob key: ${JSON.stringify(key)}`);
    }
  }
}

/** Content types travel in headers and the local file header; keep them short and printable. */
export function assertContentType(contentType: string): void {
  if (typeof contentType !== 'string' || !/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(contentType)) {
    throw new Error(`Invalid content type: ${JSON.stringify(contentType)}`);
  }
}

export function assertDeclaredSize(size: number | undefined): void {
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new Error(`Invalid declared size: ${size}`);
  }
}

export function sizeMismatch(declared: number, actual: string): Error {
  return new Error(`Blob size mismatch: declared ${declared} bytes, body had ${actual}`);
}
