import { createHmac, createPublicKey, type KeyObject, timingSafeEqual, verify } from 'node:crypto';

/** Constant-time string comparison (lengths may differ; that alone is not secret). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Telegram: `setWebhook(secret_token)` makes Telegram send the secret in
 * `X-Telegram-Bot-Api-Secret-Token` with every update.
 */
export function verifyTelegram(header: string | undefined, secret: string): boolean {
  return header !== undefined && safeEqual(header, secret);
}

/** Slack rejects (and so do we) requests older than five minutes: a captured request cannot be replayed later. */
export const SLACK_MAX_AGE_S = 5 * 60;

/**
 * Slack's request signing: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:<ts>:<raw body>")>`
 * with `X-Slack-Request-Timestamp: <ts>` (Unix seconds).
 */
export function verifySlack(
  headers: { signature?: string | undefined; timestamp?: string | undefined },
  rawBody: Buffer,
  signingSecret: string,
  nowMs: number,
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_MAX_AGE_S) return false;
  const mac = createHmac('sha256', signingSecret);
  mac.update(`v0:${timestamp}:`);
  mac.update(rawBody);
  return safeEqual(signature, `v0=${mac.digest('hex')}`);
}

/** A Discord application's public key (64 hex characters, from the developer portal) as a key object. */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('DISCORD_PUBLIC_KEY must be 64 hex characters');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') },
    format: 'jwk',
  });
}

/**
 * Discord interactions: `X-Signature-Ed25519` is the hex Ed25519 signature of
 * `<X-Signature-Timestamp><raw body>` by the application's key.
 */
export function verifyDiscord(
  headers: { signature?: string | undefined; timestamp?: string | undefined },
  rawBody: Buffer,
  publicKey: KeyObject,
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^[0-9a-fA-F]{128}$/.test(signature)) return false;
  try {
    return verify(
      null,
      Buffer.concat([Buffer.from(timestamp), rawBody]),
      publicKey,
      Buffer.from(signature, 'hex'),
    );
  } catch {
    return false;
  }
}

/**
 * Signs a body Switchboard sends (API-key callbacks and outgoing webhooks, docs/webhooks.md):
 * `t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. With several secrets (a webhook whose
 * secret was just rotated) there is a `v1=` per secret, newest first; a receiver accepts the body
 * when any of them matches the secret it knows.
 */
export function signBody(secret: string | readonly string[], body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  const secrets = typeof secret === 'string' ? [secret] : secret;
  const v1 = secrets.map((s) => `v1=${createHmac('sha256', s).update(`${t}.${body}`).digest('hex')}`);
  return `t=${t},${v1.join(',')}`;
}

/**
 * Checks a `t=..,v1=..` signature (what a receiver does; used by the tests and the docs' example):
 * some v1 matches and t is at most `maxAgeS` seconds away from now.
 */
export function verifyBody(
  header: string | undefined,
  secret: string,
  body: string,
  nowMs: number,
  maxAgeS = 300,
): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('=') as [string, string?]);
  const t = parts.find(([k]) => k === 't')?.[1];
  if (!t || !/^\d{1,12}$/.test(t) || Math.abs(nowMs / 1000 - Number(t)) > maxAgeS) return false;
  const want = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && safeEqual(v, want));
}
