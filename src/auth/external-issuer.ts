import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { Errors } from '../errors/errors.js';

export interface ExternalIssuerOptions {
  issuer: string;
  audience: string;
  jwksUrl?: string;
  secret?: string;
  /** Claim holding the username. */
  usernameClaim: string;
}

export interface ExternalIdentity {
  issuer: string;
  subject: string;
  username: string;
  displayName: string;
}

/** Verifies JWTs from a configured identity provider (Cognito, Auth0, Keycloak, a product's own login). */
export class ExternalIssuer {
  private readonly jwks?: JWTVerifyGetKey;
  private readonly secret?: Uint8Array;

  constructor(private readonly opts: ExternalIssuerOptions) {
    if (opts.jwksUrl) this.jwks = createRemoteJWKSet(new URL(opts.jwksUrl), { timeoutDuration: 5000 });
    if (opts.secret) this.secret = new TextEncoder().encode(opts.secret);
  }

  get issuer(): string {
    return this.opts.issuer;
  }

  async verify(token: string): Promise<ExternalIdentity> {
    let payload: JWTPayload;
    try {
      const options = { issuer: this.opts.issuer, audience: this.opts.audience };
      payload = this.jwks
        ? (await jwtVerify(token, this.jwks, options)).payload
        : (await jwtVerify(token, this.secret!, { ...options, algorithms: ['HS256', 'HS384', 'HS512'] }))
            .payload;
    } catch {
      throw Errors.invalidToken();
    }
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw Errors.invalidToken('Token has no subject');
    const claim = (name: string) =>
      typeof payload[name] === 'string' ? (payload[name] as string) : undefined;
    const username =
      claim(this.opts.usernameClaim) ?? claim('cognito:username') ?? claim('email') ?? payload.sub;
    return {
      issuer: this.opts.issuer,
      subject: payload.sub,
      username,
      displayName: claim('name') ?? username,
    };
  }
}
