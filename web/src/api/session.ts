import type { AuthResult, User } from './types';

/** A failed REST call: the server's stable code (docs/api.md "Errors"), or NETWORK when it never answered. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface StoredAuth {
  user: User;
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
}

const KEY = 'switchboard.auth';
/** Refresh this long before the access token expires, in ms. */
const REFRESH_MARGIN_MS = 60_000;

function read(storage: Storage): StoredAuth | undefined {
  try {
    const raw = storage.getItem(KEY);
    return raw ? (JSON.parse(raw) as StoredAuth) : undefined;
  } catch {
    return undefined;
  }
}

async function call<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError('NETWORK', 'The server could not be reached', 0);
  }
  const json = (await res.json().catch(() => undefined)) as
    | { success: true; data: T }
    | { success: false; error: { code: string; message: string } }
    | undefined;
  if (!json) throw new ApiError('BAD_RESPONSE', `Unexpected answer (${res.status})`, res.status);
  if (!json.success) throw new ApiError(json.error.code, json.error.message, res.status);
  return json.data;
}

/**
 * The signed-in user's tokens, kept in localStorage so a reload stays signed in. Access tokens are
 * refreshed shortly before they expire; refresh tokens rotate (each is spent once), so tabs refresh
 * one at a time under a Web Lock and pick up what another tab stored.
 */
export class Session {
  private refreshing: Promise<void> | undefined;
  /** Called once the refresh token is refused: the user must sign in again. */
  onExpired: (() => void) | undefined;

  private constructor(
    private auth: StoredAuth,
    private readonly storage: Storage,
    readonly base: string,
  ) {}

  static restore(storage: Storage = localStorage, base = location.origin): Session | undefined {
    const auth = read(storage);
    return auth ? new Session(auth, storage, base) : undefined;
  }

  static async register(username: string, password: string, displayName?: string): Promise<Session> {
    const body = { username, password, ...(displayName ? { displayName } : {}) };
    return Session.start(await call<AuthResult>(location.origin, 'POST', '/v1/auth/register', body));
  }

  static async login(username: string, password: string): Promise<Session> {
    return Session.start(
      await call<AuthResult>(location.origin, 'POST', '/v1/auth/login', { username, password }),
    );
  }

  private static start(r: AuthResult): Session {
    const s = new Session(Session.toStored(r), localStorage, location.origin);
    s.save();
    return s;
  }

  private static toStored(r: AuthResult): StoredAuth {
    return {
      user: r.user,
      accessToken: r.accessToken,
      refreshToken: r.refreshToken,
      expiresAt: Date.now() + r.expiresIn * 1000,
    };
  }

  get user(): User {
    return this.auth.user;
  }

  setUser(user: User): void {
    this.auth = { ...this.auth, user };
    this.save();
  }

  private save(): void {
    this.storage.setItem(KEY, JSON.stringify(this.auth));
  }

  /** A valid access token, refreshed first when it is about to expire. */
  async accessToken(): Promise<string> {
    if (Date.now() > this.auth.expiresAt - REFRESH_MARGIN_MS) await this.refresh();
    return this.auth.accessToken;
  }

  /** Rotates the tokens (once at a time, across tabs). */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const spent = this.auth.refreshToken;
    const run = async () => {
      // Another tab may have rotated the token while this one waited for the lock.
      const stored = read(this.storage);
      if (stored && stored.refreshToken !== spent && stored.user.userId === this.auth.user.userId) {
        this.auth = stored;
        return;
      }
      try {
        const r = await call<AuthResult>(this.base, 'POST', '/v1/auth/refresh', { refreshToken: spent });
        this.auth = Session.toStored(r);
        this.save();
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) this.expire();
        throw err;
      }
    };
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    if (locks) await locks.request('switchboard.refresh', run);
    else await run();
  }

  private expire(): void {
    this.storage.removeItem(KEY);
    this.onExpired?.();
  }

  async logout(): Promise<void> {
    const refreshToken = this.auth.refreshToken;
    this.storage.removeItem(KEY);
    await call(this.base, 'POST', '/v1/auth/logout', { refreshToken }).catch(() => undefined);
  }

  /** A REST call with the bearer token; one refresh-and-retry when the token was refused. */
  async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await call<T>(this.base, method, path, body, await this.accessToken());
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'INVALID_TOKEN') throw err;
      await this.refresh();
      return call<T>(this.base, method, path, body, this.auth.accessToken);
    }
  }
}
