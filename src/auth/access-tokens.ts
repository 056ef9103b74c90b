import { jwtVerify, SignJWT } from 'jose';
import { Errors } from '../errors/errors.js';
import type { Principal } from './principal.js';

export const LOCAL_ISSUER = 'switchboard';
const AUDIENCE = 'switchboard';

/** Signs and verifies Switchboard's own HS256 access tokens. */
export class AccessTokens {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    /** Lifetime in seconds. */
    private readonly ttl: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  get ttlSeconds(): number {
    return this.ttl;
  }

  sign(p: Principal, ttl = this.ttl): Promise<string> {
    return new SignJWT({ name: p.username, adm: p.isAdmin })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(p.userId)
      .setIssuer(LOCAL_ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .sign(this.key);
  }

  async verify(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: LOCAL_ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.name !== 'string') throw new Error('claims');
      return { userId: payload.sub, username: payload.name, isAdmin: payload.adm === true };
    } catch {
      throw Errors.invalidToken();
    }
  }
}
