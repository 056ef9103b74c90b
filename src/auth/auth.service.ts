import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { Errors } from '../errors/errors.js';
import { newId } from '../shared/ids.js';
import type { Store } from '../store/store.js';
import { toUserView, type UserView, usernameStem } from '../users/user-model.js';
import type { UsersService } from '../users/users.service.js';
import type { AccessTokens } from './access-tokens.js';
import type { ExternalIssuer } from './external-issuer.js';
import { DUMMY_HASH, verifyPassword } from './passwords.js';
import type { Principal } from './principal.js';

export interface AuthResult {
  user: UserView;
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** Access token lifetime in seconds. */
  expiresIn: number;
}

export interface AuthServiceOptions {
  allowRegistration: boolean;
  /** Refresh token lifetime in seconds. */
  refreshTtl: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export class AuthService {
  constructor(
    private readonly store: Store,
    private readonly users: UsersService,
    private readonly tokens: AccessTokens,
    private readonly external: ExternalIssuer | undefined,
    private readonly opts: AuthServiceOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async register(input: { username: string; password: string; displayName?: string }): Promise<AuthResult> {
    if (!this.opts.allowRegistration) throw Errors.registrationClosed();
    const user = await this.users.create(input);
    return this.issue(user);
  }

  async login(username: string, password: string): Promise<AuthResult> {
    const row = await this.store.repos.users.findByUsername(username.toLowerCase());
    // Always run the KDF, so response time does not tell which usernames exist.
    const ok = await verifyPassword(password, row?.password_hash ?? (await DUMMY_HASH));
    if (!row?.password_hash || !ok) throw Errors.invalidCredentials();
    return this.issue(toUserView(row));
  }

  /** Rotates a refresh token. Presenting an already-rotated token revokes its whole family (token theft). */
  async refresh(refreshToken: string): Promise<AuthResult> {
    const now = this.now();
    const row = await this.store.repos.tokens.findByHash(sha256(refreshToken));
    if (!row || row.expires_at <= now) throw Errors.invalidToken('Refresh token is invalid or expired');
    if (row.revoked_at !== null || !(await this.store.repos.tokens.revoke(row.id, now))) {
      await this.store.repos.tokens.revokeFamily(row.family_id, now);
      throw Errors.invalidToken('Refresh token was already used; please log in again');
    }
    const user = await this.store.repos.users.findById(row.user_id);
    if (!user) throw Errors.invalidToken();
    return this.issue(toUserView(user), row.family_id);
  }

  async logout(refreshToken: string): Promise<void> {
    const row = await this.store.repos.tokens.findByHash(sha256(refreshToken));
    if (row) await this.store.repos.tokens.revokeFamily(row.family_id, this.now());
  }

  /** Verifies a bearer token: Switchboard's own, or one from the configured external issuer. */
  async authenticate(token: string): Promise<Principal> {
    if (this.external) {
      let iss: string | undefined;
      try {
        iss = decodeJwt(token).iss;
      } catch {
        throw Errors.invalidToken();
      }
      if (iss === this.external.issuer) return this.authenticateExternal(token);
    }
    return this.tokens.verify(token);
  }

  /** Access token for a user, as the CLI's `token` command prints. */
  async tokenFor(user: UserView, ttl?: number): Promise<string> {
    return this.tokens.sign({ userId: user.userId, username: user.username, isAdmin: user.isAdmin }, ttl);
  }

  private async authenticateExternal(token: string): Promise<Principal> {
    const id = await this.external!.verify(token);
    let row = await this.store.repos.users.findByExternal(id.issuer, id.subject);
    if (!row) {
      await this.createExternalUser(id.username, id.displayName, { issuer: id.issuer, subject: id.subject });
      row = await this.store.repos.users.findByExternal(id.issuer, id.subject);
      if (!row) throw Errors.internal('external user vanished');
    }
    return { userId: row.id, username: row.username, isAdmin: row.is_admin === 1 };
  }

  /** First sight of an external user: pick a free username from their claim. */
  private async createExternalUser(
    claim: string,
    displayName: string,
    external: { issuer: string; subject: string },
  ) {
    const stem = usernameStem(claim);
    for (let attempt = 0; attempt < 5; attempt++) {
      const username = attempt === 0 ? stem : `${stem}-${randomBytes(3).toString('hex')}`;
      try {
        return await this.users.create({ username, displayName, external });
      } catch (err) {
        // Same subject created concurrently by another request: use theirs.
        if (await this.store.repos.users.findByExternal(external.issuer, external.subject)) return;
        if ((err as { code?: string }).code !== 'USERNAME_TAKEN') throw err;
      }
    }
    throw Errors.conflict('Could not find a free username for this external user');
  }

  private async issue(user: UserView, familyId = newId('fam')): Promise<AuthResult> {
    const now = this.now();
    const refreshToken = `sbr_${randomBytes(32).toString('base64url')}`;
    await this.store.repos.tokens.insert({
      id: newId('rt'),
      user_id: user.userId,
      token_hash: sha256(refreshToken),
      family_id: familyId,
      expires_at: now + this.opts.refreshTtl * 1000,
      revoked_at: null,
      created_at: now,
    });
    return {
      user,
      accessToken: await this.tokenFor(user),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.tokens.ttlSeconds,
    };
  }
}
