import { iso, parseJson } from '../shared/json.js';
import type { ClientErrorRow } from '../store/database.js';

export const CLIENT_ERROR_LEVELS = ['error', 'warning'] as const;
export type ClientErrorLevel = (typeof CLIENT_ERROR_LEVELS)[number];

/** Size limits of one report; the REST and WebSocket schemas enforce them, the service the last. */
export const CLIENT_ERROR_LIMITS = {
  /** Characters. */
  message: 2000,
  /** Characters (16 KiB). */
  stack: 16_384,
  /** Top-level keys of `context`. */
  contextKeys: 20,
  /** UTF-8 bytes of `context` as JSON (8 KiB). */
  contextBytes: 8192,
  /** Characters. */
  clientVersion: 64,
  /** Characters. */
  url: 2048,
  /** Characters of the User-Agent header kept. */
  userAgent: 512,
} as const;

/** A report as a client sends it (REST body or `error_log` frame). */
export interface ClientErrorInput {
  message: string;
  stack?: string;
  context?: Record<string, unknown>;
  clientVersion?: string;
  url?: string;
  /** @default 'error' */
  level?: ClientErrorLevel;
}

/** A stored report as server admins see it. */
export interface ClientErrorView {
  errorId: string;
  userId: string;
  level: ClientErrorLevel;
  message: string;
  stack: string | null;
  context: Record<string, unknown> | null;
  clientVersion: string | null;
  url: string | null;
  userAgent: string | null;
  source: 'http' | 'websocket';
  createdAt: string;
}

export function toClientErrorView(r: ClientErrorRow): ClientErrorView {
  return {
    errorId: r.id,
    userId: r.user_id,
    level: r.level as ClientErrorLevel,
    message: r.message,
    stack: r.stack,
    context: parseJson<Record<string, unknown> | null>(r.context, null),
    clientVersion: r.client_version,
    url: r.url,
    userAgent: r.user_agent,
    source: r.source as ClientErrorView['source'],
    createdAt: iso(r.created_at),
  };
}
