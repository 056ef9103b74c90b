import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { type AppError, Errors, isAppError } from '../errors/errors.js';

/** Maps every failure to `{success:false, error:{code, message, details?}}` with the right status. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError | Error, req, reply) => {
    const appErr = toAppError(err);
    if (appErr.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.debug({ code: appErr.code }, appErr.message);
    return send(reply, appErr);
  });
  app.setNotFoundHandler((req, reply) =>
    send(reply, Errors.notFound(`No route ${req.method} ${req.url.split('?')[0]}`)),
  );
}

function send(reply: FastifyReply, e: AppError) {
  const retry = e.details?.retryAfterMs;
  if (typeof retry === 'number') reply.header('retry-after', Math.ceil(retry / 1000));
  return reply.status(e.status).send({
    success: false,
    error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) },
  });
}

function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const f = err as FastifyError;
  if (f.validation) {
    const where = f.validationContext ?? 'request';
    const first = f.validation[0];
    const path = first?.instancePath ? `${where}${first.instancePath.replace(/\//g, '.')}` : where;
    return Errors.validation(`${path} ${first?.message ?? 'is invalid'}`, {
      issues: f.validation.map((v) => ({
        path: v.instancePath || '/',
        message: v.message,
        params: v.params,
      })),
    });
  }
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return Errors.payloadTooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return Errors.validation('Content-Type must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return Errors.badJson('Request body is empty but Content-Type is application/json');
  }
  if (f instanceof SyntaxError || f.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return Errors.badJson();
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    return Errors.validation(f.message);
  }
  return Errors.internal();
}
