import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../errors/errors.js';
import { PROJECT_ID_RE } from './agent-model.js';
import type { SiteStore } from './site-store.js';

/**
 * A published site is a page of this origin's address space, so it runs sandboxed: the CSP `sandbox`
 * gives it an opaque origin (no access to the web client's storage or cookies) while scripts and forms
 * still work; nosniff keeps every file at its declared type.
 */
const SITE_CSP = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads';

const Params = Type.Object({ projectId: Type.String({ maxLength: 64 }) });
const FileParams = Type.Object({ projectId: Type.String({ maxLength: 64 }), '*': Type.String() });

/** `GET /sites/:projectId/...`: published sites, public like the static website they stand for. */
export function sitesRoutes(sites: SiteStore) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/sites/:projectId',
      {
        config: { public: true },
        schema: { tags: ['agent'], summary: 'A published site (index)', security: [], params: Params },
      },
      async (req, reply) => {
        // Without the trailing slash, the site's relative links would resolve one level up.
        if (!req.url.split('?')[0]!.endsWith('/')) {
          return reply.redirect(`/sites/${encodeURIComponent(req.params.projectId)}/`, 301);
        }
        return serve(sites, req, reply, req.params.projectId, '');
      },
    );

    app.get(
      '/sites/:projectId/*',
      {
        config: { public: true },
        schema: { tags: ['agent'], summary: 'A file of a published site', security: [], params: FileParams },
      },
      async (req, reply) => {
        // The raw path, not the `*` param: the router drops a trailing slash, which matters here.
        const raw = req.url.split('?')[0]!;
        const prefix = `/sites/${req.params.projectId}/`;
        let path: string;
        try {
          path = decodeURIComponent(raw.startsWith(prefix) ? raw.slice(prefix.length) : req.params['*']);
        } catch {
          throw Errors.notFound('No such file');
        }
        return serve(sites, req, reply, req.params.projectId, path);
      },
    );
  };
}

async function serve(
  sites: SiteStore,
  req: FastifyRequest,
  reply: FastifyReply,
  projectId: string,
  path: string,
) {
  if (!PROJECT_ID_RE.test(projectId)) throw Errors.notFound('No such site');
  // The manifest is the whole namespace, so a path cannot climb anywhere; still refuse the odd ones.
  if (path.includes('\0') || path.includes('\\') || path.split('/').some((s) => s === '..' || s === '.')) {
    throw Errors.notFound('No such file');
  }
  const file = await sites.open(projectId, path);
  if (file.kind === 'missing') throw Errors.notFound('No such file');
  if (file.kind === 'redirect') return reply.redirect(file.location, 301);
  reply
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', SITE_CSP)
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache')
    .header('etag', file.etag);
  if (file.status === 200 && req.headers['if-none-match'] === file.etag) {
    file.body.destroy();
    return reply.status(304).send();
  }
  return reply
    .status(file.status)
    .header('content-type', file.type)
    .header('content-length', String(file.size))
    .send(file.body);
}
