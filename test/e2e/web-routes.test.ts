import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { installErrorHandling } from '../../src/http/error-handler.js';
import { webClientRoutes } from '../../src/http/web-client.routes.js';

/** The web client's HTTP side against a fake build: what is served where, with which headers. */
describe('web client routes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-web-'));
  const config = { fileStorage: 'local' } as Config;
  const app = Fastify();

  beforeAll(async () => {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Switchboard</title>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'assets', 'index-abc123.css'), 'body{}');
    installErrorHandling(app);
    app.get('/v1/ping', async () => ({ success: true, data: 'pong' }));
    await app.register(webClientRoutes(config, { dir }));
  });

  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page at / and at client routes, never cached, with a strict CSP', async () => {
    for (const url of ['/', '/rooms/room_abc', '/rooms/room_abc/']) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(200);
      expect(r.body).toContain('<title>Switchboard</title>');
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-cache');
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self' ws: wss:");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('serves hashed assets with a long cache and their types', async () => {
    const js = await app.inject({ url: '/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.body).toBe('console.log(1)');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const css = await app.inject({ url: '/assets/index-abc123.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers 404 for missing files and never shadows API, socket, docs or ops paths', async () => {
    for (const url of [
      '/assets/index-old.js',
      '/assets/../index.html',
      '/favicon.ico',
      '/v1/nowhere',
      '/v2/rooms',
      '/ws',
      '/chat',
      '/docs/nothing-here',
      '/health/x',
      '/metrics/x',
      '/sites/demo',
    ]) {
      const r = await app.inject({ url });
      expect({ url, status: r.statusCode }).toEqual({ url, status: 404 });
      expect(r.body).not.toContain('<title>Switchboard</title>');
    }
    const api = await app.inject({ url: '/v1/nowhere' });
    expect(api.json()).toEqual({
      success: false,
      error: { code: 'NOT_FOUND', message: expect.stringContaining('/v1/nowhere') },
    });
    expect((await app.inject({ url: '/v1/ping' })).json()).toEqual({ success: true, data: 'pong' });
  });

  it('lets the page reach the S3 bucket when attachments live there', async () => {
    const s3 = Fastify();
    await s3.register(
      webClientRoutes(
        {
          fileStorage: 's3',
          s3PublicEndpoint: 'https://files.example.com:9000',
          s3ForcePathStyle: true,
        } as Config,
        { dir },
      ),
    );
    const r = await s3.inject({ url: '/' });
    expect(r.headers['content-security-policy']).toContain(
      "connect-src 'self' ws: wss: https://files.example.com:9000",
    );
    await s3.close();
  });

  it('says to run the build when there is none', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sb-web-empty-'));
    const bare = Fastify();
    installErrorHandling(bare);
    await bare.register(webClientRoutes(config, { dir: empty }));
    for (const url of ['/', '/rooms/room_abc']) {
      const r = await bare.inject({ url });
      expect(r.statusCode).toBe(503);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.body).toContain('npm run build');
    }
    await bare.close();
    rmSync(empty, { recursive: true, force: true });
  });
});
