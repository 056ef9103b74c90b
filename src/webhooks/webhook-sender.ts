import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedTarget } from './target-check.js';

/** The start of a receiver's answer kept on the delivery row, characters. */
export const KEPT_RESPONSE_CHARS = 512;
/** Most of an answer read before the connection is dropped, bytes. */
const MAX_READ_BYTES = 64 * 1024;

export interface SendResult {
  status: number;
  /** The start of the answer's body. */
  body: string;
}

/**
 * POSTs a body to a checked target, connecting to the address that was checked (a DNS answer that
 * changed since, "DNS rebinding", cannot redirect the request into a private network). Redirects
 * are not followed (a 3xx is just a status). Rejects on network errors and after `timeoutMs`.
 */
export function postPinned(
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<SendResult> {
  const pinned: LookupFunction = (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  };
  const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<SendResult>((resolve, reject) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    const req = request(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned,
        signal: both,
        agent: false,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_READ_BYTES) chunks.push(c);
          else res.destroy();
        });
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8').slice(0, KEPT_RESPONSE_CHARS),
          });
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    req.on('error', (err) => {
      if (timeout.aborted && !signal.aborted) reject(new Error(`timed out after ${timeoutMs} ms`));
      else if (signal.aborted) reject(signal.reason);
      else reject(err);
    });
    req.end(body);
  });
}
