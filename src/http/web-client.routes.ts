import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../config/config.js';

/**
 * Paths the web client never answers: the API, the real-time endpoints, the OpenAPI pages and the
 * operational endpoints keep their own routes and their own 404s.
 */
const RESERVED = /^\/(v\d+|ws|chat|docs|health|ready|metrics|sites)(\/|$)/;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

interface StaticFile {
  body: Buffer;
  type: string;
}

export interface WebClientOptions {
  /** Directory holding the built app (`index.html` + `assets/`). @default dist/web next to the server code */
  dir?: string;
}

/** Where `npm run build` puts the app: `dist/web`, seen from `dist/http` (built) or `src/http` (tsx, tests). */
function defaultDir(): string {
  const candidates = [
    fileURLToPath(new URL('../web/', import.meta.url)),
    fileURLToPath(new URL('../../dist/web/', import.meta.url)),
  ];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0]!;
}

/** Reads the whole build once: a few small files, served from memory (nothing on disk is looked up by URL). */
function loadBuild(dir: string): { index: Buffer; assets: Map<string, StaticFile> } | undefined {
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) return undefined;
  try {
    return readBuild(dir, indexPath);
  } catch {
    // Being rebuilt right now (files vanish mid-read): serve the "not built" page rather than fail to start.
    return undefined;
  }
}

function readBuild(dir: string, indexPath: string): { index: Buffer; assets: Map<string, StaticFile> } {
  const assets = new Map<string, StaticFile>();
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = `${sub}/${name}`;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else
        assets.set(`/${rel}`, {
          body: readFileSync(join(dir, rel)),
          type: TYPES[extname(name)] ?? 'application/octet-stream',
        });
    }
  };
  if (existsSync(join(dir, 'assets'))) walk('assets');
  return { index: readFileSync(indexPath), assets };
}

/** Origins the page may talk to besides its own: the bucket that presigned uploads go to. */
function s3Origins(config: Config): string[] {
  if (config.fileStorage !== 's3') return [];
  const endpoint = config.s3PublicEndpoint ?? config.s3Endpoint;
  if (!endpoint) return ['https://*.amazonaws.com'];
  try {
    return [new URL(endpoint).origin, ...(config.s3ForcePathStyle ? [] : [`*.${new URL(endpoint).host}`])];
  } catch {
    return [];
  }
}

/** Headers for the HTML page: only this origin's scripts and styles, no framing, no sniffing. */
function pageHeaders(config: Config): Record<string, string> {
  const s3 = s3Origins(config).join(' ');
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    // Attachment thumbnails come from signed URLs: this server, or the bucket (any host with S3).
    "img-src 'self' data: blob: https: http:",
    "media-src 'self' blob: https: http:",
    `connect-src 'self' ws: wss:${s3 ? ` ${s3}` : ''}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'content-security-policy': csp,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
    // The page names the current hashed bundle: always revalidate it.
    'cache-control': 'no-cache',
  };
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard</title></head>
<body><h1>Switchboard</h1>
<p>The web client has not been built. Run <code>npm run build</code> (it builds the server and the
web app into <code>dist/</code>), then restart the server.</p>
<p>The API is up: see <a href="/docs">/docs</a>.</p></body></html>
`;

/**
 * Serves the web client (a Vite build) at `/`: hashed files under `/assets/` with a year-long cache,
 * and `index.html`, never cached, for `/` and every other client route (history-API routing), but
 * never for the API, WebSocket, docs or operational paths, which keep their 404s.
 */
export function webClientRoutes(config: Config, options: WebClientOptions = {}) {
  const dir = options.dir ?? defaultDir();
  return async (app: FastifyInstance) => {
    const build = loadBuild(dir);
    const headers = pageHeaders(config);

    const sendPage = (reply: FastifyReply) => {
      reply.headers(headers).type('text/html; charset=utf-8');
      if (!build) return reply.status(503).send(NOT_BUILT);
      return reply.send(build.index);
    };

    const opts = { config: { public: true }, schema: { hide: true } } as const;
    app.get('/', opts, async (_req, reply) => sendPage(reply));
    app.get('/*', opts, async (req, reply) => {
      const path = req.url.split('?')[0]!;
      if (RESERVED.test(path)) return reply.callNotFound();
      const asset = build?.assets.get(path);
      if (asset) {
        return reply
          .header('cache-control', 'public, max-age=31536000, immutable')
          .header('x-content-type-options', 'nosniff')
          .type(asset.type)
          .send(asset.body);
      }
      // A missing file is a 404, not the page: a stale tab asking for an old bundle must see it fail.
      if (path.startsWith('/assets/') || extname(path) !== '') return reply.callNotFound();
      return sendPage(reply);
    });
  };
}
