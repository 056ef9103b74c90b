import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

/** s3rver's built-in account (hard-coded in s3rver/lib/models/account.js). */
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';
const BUCKET = 'switchboard-test';

export interface TestS3Server {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

/** The tiny slice of s3rver (a Koa app, untyped CommonJS) used here. */
interface KoaContext {
  method: string;
  url: string;
  path: string;
  req: IncomingMessage | Readable;
  headers: IncomingHttpHeaders;
  status: number;
  type: string;
  body: unknown;
}
interface S3rverApp {
  middleware: Array<(ctx: KoaContext, next: () => Promise<void>) => Promise<void>>;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverApp;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

/**
 * Starts s3rver on 127.0.0.1 with a random port and a fresh directory.
 *
 * Two middlewares in front of s3rver 3.7 close gaps where it is laxer than S3, so tests of those
 * behaviours can fail:
 * - It checks the expiry of SigV4 presigned URLs but never verifies V4 signatures ("Signature
 *   version 4 calculation is unimplemented"), so a presigned PUT with another Content-Type/Length
 *   would be accepted. SigV4 *query* signatures (presigned URLs) are verified here per the AWS spec,
 *   answering 403 SignatureDoesNotMatch like S3. Header-signed SDK requests pass through unverified.
 * - It streams a PUT body straight into the object's final file, so an upload aborted mid-body
 *   leaves a truncated object behind; S3 stores nothing. Object PUT bodies are buffered here and
 *   only handed to s3rver once the request completed.
 */
export async function startS3Server(): Promise<TestS3Server> {
  const directory = await mkdtemp(path.join(tmpdir(), 'switchboard-s3rver-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  });
  // Koa composes middleware when run() creates the server, so prepending here makes it run first.
  server.middleware.unshift(async (ctx, next) => {
    const failure = presignedSignatureFailure(ctx.method, ctx.url, ctx.headers);
    if (!failure) return next();
    ctx.status = 403;
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>${failure}</Message></Error>`;
  });
  server.middleware.splice(1, 0, async (ctx, next) => {
    const isObjectPut = ctx.method === 'PUT' && ctx.path.split('/').filter(Boolean).length >= 2;
    if (!isObjectPut) return next();
    const body = await completeBody(ctx.req as IncomingMessage);
    if (!body) {
      ctx.status = 400; // the client is gone; S3 would answer IncompleteBody and store nothing
      return;
    }
    ctx.req = Readable.from([body]);
    return next();
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: BUCKET,
    region: 'us-east-1',
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The whole body, or undefined when the client disconnected before sending all of it. */
async function completeBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req) chunks.push(chunk as Buffer);
  } catch {
    return undefined; // 'aborted'
  }
  return req.complete ? Buffer.concat(chunks) : undefined;
}

/** Returns why a SigV4 presigned request is invalid, or undefined (also for non-presigned requests). */
function presignedSignatureFailure(method: string, rawUrl: string, headers: IncomingHttpHeaders) {
  const [rawPath = '/', rawQuery = ''] = rawUrl.split(/\?(.*)/s);
  const params = rawQuery
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const [k = '', v = ''] = pair.split(/=(.*)/s);
      return [decodeQuery(k), decodeQuery(v)] as const;
    });
  const get = (name: string) => params.find(([k]) => k === name)?.[1];
  if (get('X-Amz-Algorithm') === undefined) return undefined;

  const credential = get('X-Amz-Credential') ?? '';
  const amzDate = get('X-Amz-Date') ?? '';
  const signedHeaders = get('X-Amz-SignedHeaders') ?? '';
  const provided = get('X-Amz-Signature') ?? '';
  const [accessKeyId, date, region, service, terminator] = credential.split('/');
  if (accessKeyId !== ACCESS_KEY_ID || !date || !region || !service || terminator !== 'aws4_request') {
    return 'malformed or unknown credential';
  }

  const canonicalQuery = params
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? cmp(av, bv) : cmp(a, b)))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headerNames = signedHeaders.split(';');
  const canonicalHeaders = headerNames
    .map((name) => {
      const value = headers[name];
      const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${joined.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalRequest = [
    method,
    rawPath, // S3 does not normalise or re-encode the path: it is signed as sent
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${SECRET_ACCESS_KEY}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const actual = Buffer.from(provided);
  if (expected.length === actual.length && timingSafeEqual(expected, actual)) return undefined;
  return 'The request signature we calculated does not match the signature you provided.';
}

function decodeQuery(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
