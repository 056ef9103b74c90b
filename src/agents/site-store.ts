import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../attachments/blob-store.js';
import { StepAborted, StepError } from './git-workspace.js';

/** Files one publication may hold. */
export const MAX_SITE_FILES = 10_000;

interface ManifestFile {
  key: string;
  type: string;
  size: number;
}

/** One publication: URL path (`/index.html`) -> stored file. */
interface Manifest {
  deployId: string;
  publishedAt: number;
  files: Record<string, ManifestFile>;
}

/** `sites/<projectId>/current`: which publication is live, and the one before (kept for readers in flight). */
interface Pointer {
  deployId: string;
  previous?: string;
}

export interface Published {
  deployId: string;
  files: number;
  bytes: number;
  publishedAt: number;
}

export type SiteFile =
  | { kind: 'file'; status: 200 | 404; body: Readable; type: string; size: number; etag: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'missing' };

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.pdf': 'application/pdf',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.wasm': 'application/wasm',
};

export function contentTypeOf(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

const POINTER_TTL_MS = 1000;

/**
 * Static sites in the blob store (local directory or S3). A publication stores each file under an
 * opaque key with a manifest of URL paths, then switches `sites/<projectId>/current` to it in one
 * write, so readers see the old site or the new one, never a mix; the publication before that is
 * deleted. Any file name works (keys never come from paths) and nothing outside the manifest is served.
 */
export class SiteStore {
  private readonly pointers = new Map<string, { at: number; pointer: Pointer | undefined }>();
  private readonly manifests = new Map<string, Manifest>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly opts: { maxBytes: number; maxFiles?: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Publishes every regular file under `dir` (symlinks and `.git` are skipped). */
  async publish(projectId: string, dir: string, signal: AbortSignal): Promise<Published> {
    const files = await this.collect(dir);
    const deployId = `${this.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const base = `sites/${projectId}/d-${deployId}`;
    const manifest: Manifest = { deployId, publishedAt: this.now(), files: {} };
    let bytes = 0;
    let n = 0;
    for (const f of files) {
      if (signal.aborted) throw new StepAborted();
      const key = `${base}/f${n++}`;
      const type = contentTypeOf(f.path);
      await this.blobs.put(key, createReadStream(f.abs), { contentType: type.split(';')[0]!, size: f.size });
      manifest.files[f.path] = { key, type, size: f.size };
      bytes += f.size;
    }
    const body = Buffer.from(JSON.stringify(manifest));
    await this.blobs.put(`${base}/manifest`, body, { contentType: 'application/json', size: body.length });
    const old = await this.readPointer(projectId);
    const pointer: Pointer = { deployId, ...(old ? { previous: old.deployId } : {}) };
    const p = Buffer.from(JSON.stringify(pointer));
    await this.blobs.put(`sites/${projectId}/current`, p, {
      contentType: 'application/json',
      size: p.length,
    });
    this.pointers.set(projectId, { at: this.now(), pointer });
    if (old?.previous) await this.dropDeploy(projectId, old.previous).catch(() => {});
    return { deployId, files: files.length, bytes, publishedAt: manifest.publishedAt };
  }

  /**
   * The file for a URL path below `/sites/<projectId>/`: `''` and paths ending in `/` mean their
   * `index.html`; `/docs` with a `/docs/index.html` redirects to `/docs/`; a missing path answers the
   * site's `404.html` (status 404) when it has one.
   */
  async open(projectId: string, path: string): Promise<SiteFile> {
    const pointer = await this.cachedPointer(projectId);
    if (!pointer) return { kind: 'missing' };
    const manifest = await this.manifest(projectId, pointer.deployId);
    if (!manifest) return { kind: 'missing' };
    const p = `/${path}`;
    const wanted = p.endsWith('/') ? `${p}index.html` : p;
    let entry = manifest.files[wanted];
    let status: 200 | 404 = 200;
    if (!entry && !p.endsWith('/') && manifest.files[`${p}/index.html`]) {
      return { kind: 'redirect', location: `${p.split('/').pop()}/` };
    }
    if (!entry) {
      entry = manifest.files['/404.html'];
      status = 404;
    }
    if (!entry) return { kind: 'missing' };
    const blob = await this.blobs.get(entry.key);
    if (!blob) return { kind: 'missing' };
    return {
      kind: 'file',
      status,
      body: blob.body,
      type: entry.type,
      size: blob.info.size,
      etag: `"${manifest.deployId}-${entry.key.slice(entry.key.lastIndexOf('/') + 2)}"`,
    };
  }

  private async collect(dir: string): Promise<{ path: string; abs: string; size: number }[]> {
    let root: string;
    try {
      root = await realpath(dir);
    } catch {
      throw new StepError('publish', `There is no output directory to publish (${dir})`);
    }
    const out: { path: string; abs: string; size: number }[] = [];
    const max = this.opts.maxFiles ?? MAX_SITE_FILES;
    let bytes = 0;
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const abs = join(d, e.name);
        if (e.isDirectory()) {
          if (e.name !== '.git') await walk(abs);
          continue;
        }
        if (!e.isFile()) continue; // symlinks, sockets, ...: never followed
        const st = await lstat(abs);
        bytes += st.size;
        if (out.length >= max) throw new StepError('publish', `The site has more than ${max} files`);
        if (bytes > this.opts.maxBytes) {
          throw new StepError(
            'publish',
            `The site is larger than AGENT_MAX_PUBLISH_BYTES (${this.opts.maxBytes} bytes)`,
          );
        }
        out.push({ path: `/${relative(root, abs).split(sep).join('/')}`, abs, size: st.size });
      }
    };
    await walk(root);
    return out;
  }

  private async cachedPointer(projectId: string): Promise<Pointer | undefined> {
    const hit = this.pointers.get(projectId);
    if (hit && this.now() - hit.at < POINTER_TTL_MS) return hit.pointer;
    const pointer = await this.readPointer(projectId);
    this.pointers.set(projectId, { at: this.now(), pointer });
    return pointer;
  }

  private async readPointer(projectId: string): Promise<Pointer | undefined> {
    return (await this.readJson(`sites/${projectId}/current`)) as Pointer | undefined;
  }

  private async manifest(projectId: string, deployId: string): Promise<Manifest | undefined> {
    const cacheKey = `${projectId}/${deployId}`;
    const hit = this.manifests.get(cacheKey);
    if (hit) return hit;
    const m = (await this.readJson(`sites/${projectId}/d-${deployId}/manifest`)) as Manifest | undefined;
    if (!m) return undefined;
    if (this.manifests.size >= 50) this.manifests.delete(this.manifests.keys().next().value!);
    this.manifests.set(cacheKey, m);
    return m;
  }

  private async dropDeploy(projectId: string, deployId: string): Promise<void> {
    const m = await this.manifest(projectId, deployId);
    const base = `sites/${projectId}/d-${deployId}`;
    await this.blobs.deleteMany([...Object.values(m?.files ?? {}).map((f) => f.key), `${base}/manifest`]);
    this.manifests.delete(`${projectId}/${deployId}`);
  }

  private async readJson(key: string): Promise<unknown> {
    const blob = await this.blobs.get(key);
    if (!blob) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of blob.body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return undefined;
    }
  }
}
