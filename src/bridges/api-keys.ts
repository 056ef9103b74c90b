import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import { Errors } from '../errors/errors.js';
import { newId } from '../shared/ids.js';
import { iso } from '../shared/json.js';
import type { UsersService } from '../users/users.service.js';
import type { ApiKeyRow, BridgesRepository } from './bridges.repository.js';
import type { CallbackTarget } from './platforms/api-callback.js';

/** Every key starts with this, so a leaked one is easy to find (secret scanners) and to tell from a JWT. */
export const API_KEY_PREFIX = 'sbk_';
/** `last_used_at` is written at most this often per key, ms. */
const TOUCH_EVERY_MS = 60_000;
/** Most keys that are not revoked. */
export const MAX_API_KEYS = 100;

export interface ApiKeyView {
  keyId: string;
  name: string;
  /** The key's first characters. */
  prefix: string;
  callbackUrl: string | null;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedApiKey extends ApiKeyView {
  /** Shown once; only its hash is kept. */
  apiKey: string;
  /** Verifies callbacks (`X-Switchboard-Signature`); shown once. Null without a callback URL. */
  callbackSecret: string | null;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * API keys for generic integrations (`POST /message`): server admins create and revoke them. A key
 * authenticates only the message API, never the user API.
 */
export class ApiKeys {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly repo: BridgesRepository,
    private readonly users: UsersService,
    private readonly now: () => number,
    /** Checks a callback URL (the SSRF guard); throws a typed error to refuse it. */
    private readonly checkCallbackUrl: (url: string) => Promise<void>,
    /** Called after a key is created (the outbox switches on). */
    private readonly onCreated: () => void = () => {},
  ) {}

  async create(p: Principal, input: { name: string; callbackUrl?: string | null }): Promise<CreatedApiKey> {
    await this.users.requireServerAdmin(p.userId);
    const name = input.name.trim();
    if (name === '') throw Errors.validation('name is empty');
    if (input.callbackUrl) await this.checkCallbackUrl(input.callbackUrl);
    if ((await this.repo.countActiveKeys()) >= MAX_API_KEYS) {
      throw Errors.validation(`At most ${MAX_API_KEYS} API keys; revoke one first`);
    }
    const apiKey = `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
    const callbackSecret = input.callbackUrl ? `sbcs_${randomBytes(24).toString('base64url')}` : null;
    const row: ApiKeyRow = {
      id: newId('key'),
      name,
      key_hash: sha256(apiKey),
      prefix: apiKey.slice(0, API_KEY_PREFIX.length + 6),
      callback_url: input.callbackUrl ?? null,
      callback_secret: callbackSecret,
      created_by: p.userId,
      created_at: this.now(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.repo.insertKey(row);
    this.onCreated();
    return { ...toView(row), apiKey, callbackSecret };
  }

  async list(p: Principal): Promise<ApiKeyView[]> {
    await this.users.requireServerAdmin(p.userId);
    return (await this.repo.listKeys()).map(toView);
  }

  async revoke(p: Principal, keyId: string): Promise<void> {
    await this.users.requireServerAdmin(p.userId);
    const row = await this.repo.findKey(keyId);
    if (!row) throw Errors.notFound('API key not found');
    await this.repo.revokeKey(keyId, this.now());
  }

  /** The key in `Authorization: Bearer sbk_...` or `X-API-Key`, or INVALID_API_KEY. */
  async authenticate(headers: {
    authorization?: string | undefined;
    'x-api-key'?: string | string[] | undefined;
  }): Promise<ApiKeyRow> {
    const bearer = headers.authorization ? /^Bearer\s+(\S+)$/i.exec(headers.authorization)?.[1] : undefined;
    const header = headers['x-api-key'];
    const key = bearer ?? (typeof header === 'string' ? header.trim() : undefined);
    if (!key) throw Errors.unauthenticated('Send an API key: Authorization: Bearer sbk_... (or X-API-Key)');
    if (!key.startsWith(API_KEY_PREFIX)) throw Errors.invalidApiKey();
    const row = await this.repo.findKeyByHash(sha256(key));
    if (!row || row.revoked_at !== null) throw Errors.invalidApiKey();
    const now = this.now();
    if (now - (this.touched.get(row.id) ?? 0) > TOUCH_EVERY_MS) {
      this.touched.set(row.id, now);
      if (this.touched.size > 1000) this.touched.clear();
      await this.repo.touchKey(row.id, now);
    }
    return row;
  }

  /** Where a key's replies go; undefined without a callback or once revoked. */
  async callbackFor(keyId: string): Promise<CallbackTarget | undefined> {
    const row = await this.repo.findKey(keyId);
    if (!row || row.revoked_at !== null || !row.callback_url || !row.callback_secret) return undefined;
    return { url: row.callback_url, secret: row.callback_secret };
  }
}

function toView(r: ApiKeyRow): ApiKeyView {
  return {
    keyId: r.id,
    name: r.name,
    prefix: r.prefix,
    callbackUrl: r.callback_url,
    createdBy: r.created_by,
    createdAt: iso(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : iso(r.last_used_at),
    revokedAt: r.revoked_at === null ? null : iso(r.revoked_at),
  };
}
