import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, uniqueName } from '../helpers/test-app.js';

const ISSUER = 'https://idp.example';
const AUDIENCE = 'switchboard-app';
const EXTERNAL_SECRET = 'external-idp-shared-secret-0123456789abcdef';
const LOCAL_SECRET = 'test-secret-test-secret-test-secret-0123';

type Key = Parameters<SignJWT['sign']>[0];

interface ExternalTokenOpts {
  key: Key;
  alg: string;
  kid?: string;
  claims?: JWTPayload;
  sub?: string | null;
  iss?: string;
  aud?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
}

function externalToken(o: ExternalTokenOpts): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...o.claims })
    .setProtectedHeader({ alg: o.alg, typ: 'JWT', ...(o.kid ? { kid: o.kid } : {}) })
    .setIssuer(o.iss ?? ISSUER)
    .setAudience(o.aud ?? AUDIENCE)
    .setIssuedAt(now - 5)
    .setExpirationTime(now + (o.expiresIn ?? 600));
  if (o.sub !== null) jwt.setSubject(o.sub ?? `sub-${randomUUID()}`);
  return jwt.sign(o.key);
}

const hsKey = (secret = EXTERNAL_SECRET) => new TextEncoder().encode(secret);

for (const backend of await availableBackends()) {
  describe(`external identity, shared secret (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend, {
        AUTH_EXTERNAL_ISSUER: ISSUER,
        AUTH_EXTERNAL_AUDIENCE: AUDIENCE,
        AUTH_EXTERNAL_SECRET: EXTERNAL_SECRET,
      });
    });
    afterAll(() => t.close());

    const hs = (o: Omit<ExternalTokenOpts, 'key' | 'alg'> & { secret?: string; alg?: string }) =>
      externalToken({ ...o, key: hsKey(o.secret), alg: o.alg ?? 'HS256' });
    const me = (token: string) => t.api('GET', '/v1/users/me', { token });

    it('creates the user on first sight and maps the same subject to the same user afterwards', async () => {
      const sub = `sub-${randomUUID()}`;
      const name = uniqueName('jane');
      const token = await hs({ sub, claims: { preferred_username: name, name: 'Jane Doe' } });

      const first = await me(token);
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body.data).toMatchObject({
        username: name,
        displayName: 'Jane Doe',
        isAdmin: false,
        isBot: false,
      });
      const row = await t.sb.store.repos.users.findById(first.body.data.userId);
      expect(row).toMatchObject({ external_issuer: ISSUER, external_subject: sub, password_hash: null });

      // A second token for the same subject (even with a changed username claim) is the same user.
      const second = await me(await hs({ sub, claims: { preferred_username: `${name}-renamed` } }));
      expect(second.status).toBe(200);
      expect(second.body.data.userId).toBe(first.body.data.userId);
      expect(second.body.data.username).toBe(name);
    });

    it('works on every authenticated route, not only /me', async () => {
      const token = await hs({ claims: { preferred_username: uniqueName('ext') } });
      const room = await t.api('POST', '/v1/chat/rooms', {
        token,
        body: { name: uniqueName('room'), type: 'public' },
      });
      expect(room.status, JSON.stringify(room.body)).toBe(201);
    });

    it('accepts HS384 and HS512 signatures', async () => {
      for (const alg of ['HS384', 'HS512']) {
        const r = await me(await hs({ alg, claims: { preferred_username: uniqueName('alg') } }));
        expect(r.status, alg).toBe(200);
      }
    });

    it('derives a valid username from the claim', async () => {
      const stem = uniqueName('mary');
      const cases: Array<[JWTPayload, RegExp]> = [
        [{ preferred_username: `${stem.toUpperCase()}.Smith` }, new RegExp(`^${stem}\\.smith$`)],
        [{ preferred_username: `${stem} Jones` }, new RegExp(`^${stem}_jones$`)],
        [{ email: `${stem}e@example.com` }, new RegExp(`^${stem}e$`)],
        [{ 'cognito:username': `${stem}c` }, new RegExp(`^${stem}c$`)],
        [{ preferred_username: 'Zoë' }, /^zoe(-[0-9a-f]{6})?$/],
        [{ preferred_username: '__' }, /^u__(-[0-9a-f]{6})?$/],
      ];
      for (const [claims, pattern] of cases) {
        const r = await me(await hs({ claims }));
        expect(r.status, JSON.stringify(claims)).toBe(200);
        expect(r.body.data.username).toMatch(pattern);
        expect(r.body.data.username).toMatch(/^[a-z0-9][a-z0-9_.-]{2,31}$/);
      }
    });

    it('falls back to the subject when no username claim is present', async () => {
      const sub = `auth0|${uniqueName('s')}`;
      const r = await me(await hs({ sub }));
      expect(r.status).toBe(200);
      expect(r.body.data.username).toBe(sub.replace('|', '_'));
    });

    it('gives two subjects with the same username claim distinct usernames', async () => {
      const name = uniqueName('twin');
      const a = await me(await hs({ claims: { preferred_username: name } }));
      const b = await me(await hs({ claims: { preferred_username: name } }));
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.body.data.userId).not.toBe(b.body.data.userId);
      expect(a.body.data.username).toBe(name);
      expect(b.body.data.username).toMatch(new RegExp(`^${name}-[0-9a-f]{6}$`));
    });

    it('gives distinct valid usernames when a long username claim collides', async () => {
      const name = `${uniqueName('long')}${'x'.repeat(40)}`;
      const a = await me(await hs({ claims: { preferred_username: name } }));
      const b = await me(await hs({ claims: { preferred_username: name } }));
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(b.status, JSON.stringify(b.body)).toBe(200);
      expect(a.body.data.userId).not.toBe(b.body.data.userId);
      expect(a.body.data.username).not.toBe(b.body.data.username);
      for (const r of [a, b]) expect(r.body.data.username.length).toBeLessThanOrEqual(32);
    });

    it('never maps an external subject onto a local account with the same username', async () => {
      const local = await t.newUser();
      await t.sb.users.setAdmin(local.userId, true);
      const r = await me(await hs({ claims: { preferred_username: local.username } }));
      expect(r.status).toBe(200);
      expect(r.body.data.userId).not.toBe(local.userId);
      expect(r.body.data.username).not.toBe(local.username);
      expect(r.body.data.isAdmin).toBe(false);
    });

    it('rejects a wrong audience, issuer, secret, an expired token and a token without subject', async () => {
      const bad = {
        audience: await hs({ aud: 'someone-else' }),
        issuer: await hs({ iss: 'https://evil.example' }),
        secret: await hs({ secret: 'another-secret-another-secret-another-0' }),
        localSecret: await hs({ secret: LOCAL_SECRET }),
        expired: await hs({ expiresIn: -3600 }),
        noSubject: await hs({ sub: null, claims: { preferred_username: uniqueName('nosub') } }),
      };
      for (const [why, token] of Object.entries(bad)) {
        const r = await me(token);
        expect(r.status, why).toBe(401);
        expect(r.body.error.code, why).toBe('INVALID_TOKEN');
      }
    });

    it('a rejected token creates no user', async () => {
      const name = uniqueName('reject');
      const r = await me(await hs({ aud: 'nope', claims: { preferred_username: name } }));
      expect(r.status).toBe(401);
      expect(await t.sb.store.repos.users.findByUsername(name)).toBeUndefined();
    });

    it('local tokens keep working alongside', async () => {
      const u = await t.newUser();
      const r = await me(u.token);
      expect(r.status).toBe(200);
      expect(r.body.data.userId).toBe(u.userId);
      const login = await t.api('POST', '/v1/auth/login', {
        body: { username: u.username, password: 'correct horse battery' },
      });
      expect(login.status).toBe(200);
      expect((await me(login.body.data.accessToken)).status).toBe(200);
    });

    it('a garbage token still answers 401 INVALID_TOKEN', async () => {
      const r = await me('not-a-jwt');
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('INVALID_TOKEN');
    });
  });

  describe(`external identity, JWKS (${backend})`, () => {
    let t: TestApp;
    let jwks: Server;
    let jwksHits = 0;
    let signingKey: Key;
    let otherKey: Key;
    const kid = 'test-key-1';

    beforeAll(async () => {
      const pair = await generateKeyPair('RS256');
      const other = await generateKeyPair('RS256');
      signingKey = pair.privateKey;
      otherKey = other.privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' };
      const body = JSON.stringify({ keys: [jwk] });
      jwks = createServer((req, res) => {
        if (req.url === '/.well-known/jwks.json') {
          jwksHits++;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(body);
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
      const { port } = jwks.address() as AddressInfo;
      t = await startTestApp(backend, {
        AUTH_EXTERNAL_ISSUER: ISSUER,
        AUTH_EXTERNAL_AUDIENCE: AUDIENCE,
        AUTH_EXTERNAL_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      });
    });
    afterAll(async () => {
      await t?.close();
      await new Promise<void>((resolve) => jwks.close(() => resolve()));
    });

    const rs = (o: Omit<ExternalTokenOpts, 'key' | 'alg'> & { key?: Key }) =>
      externalToken({ ...o, key: o.key ?? signingKey, alg: 'RS256', kid: o.kid ?? kid });
    const me = (token: string) => t.api('GET', '/v1/users/me', { token });

    it('accepts an RS256 token signed by a key in the JWKS and creates the user', async () => {
      const sub = `sub-${randomUUID()}`;
      const name = uniqueName('rsa');
      const first = await me(await rs({ sub, claims: { preferred_username: name } }));
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body.data.username).toBe(name);
      expect(jwksHits).toBeGreaterThan(0);

      const second = await me(await rs({ sub }));
      expect(second.status).toBe(200);
      expect(second.body.data.userId).toBe(first.body.data.userId);
    });

    it('rejects a token signed by another key', async () => {
      for (const token of [await rs({ key: otherKey }), await rs({ key: otherKey, kid: 'unknown-kid' })]) {
        const r = await me(token);
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('INVALID_TOKEN');
      }
    });

    it('rejects an HS256 token for the issuer (no shared secret configured)', async () => {
      const r = await me(await externalToken({ key: hsKey(), alg: 'HS256' }));
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('INVALID_TOKEN');
    });

    it('rejects a wrong audience or issuer', async () => {
      for (const token of [await rs({ aud: 'other-app' }), await rs({ iss: 'https://other.example' })]) {
        const r = await me(token);
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('INVALID_TOKEN');
      }
    });

    it('gives two subjects with the same username claim distinct usernames', async () => {
      const name = uniqueName('same');
      const a = await me(await rs({ claims: { preferred_username: name } }));
      const b = await me(await rs({ claims: { preferred_username: name } }));
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.body.data.userId).not.toBe(b.body.data.userId);
      expect(new Set([a.body.data.username, b.body.data.username]).size).toBe(2);
    });

    it('first sight of the same subject on concurrent requests yields one user', async () => {
      const token = await rs({ claims: { preferred_username: uniqueName('race') } });
      const results = await Promise.all([me(token), me(token), me(token), me(token)]);
      for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(new Set(results.map((r) => r.body.data.userId)).size).toBe(1);
    });

    it('local tokens keep working alongside', async () => {
      const u = await t.newUser();
      const r = await me(u.token);
      expect(r.status).toBe(200);
      expect(r.body.data.userId).toBe(u.userId);
    });
  });
}
