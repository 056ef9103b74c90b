import type { Attachment } from '../messages/message-model.js';
import { newId } from '../shared/ids.js';
import type { AttachmentRow } from '../store/database.js';

export type AttachmentKind = Attachment['type'];

/** What an upload request declares. */
export interface UploadDeclaration {
  fileName: string;
  mimeType: string;
  size: number;
}

/** An attachment as its uploader sees it before and after use. */
export interface AttachmentView extends Attachment {
  roomId: string;
  status: 'pending' | 'ready';
  messageId: string | null;
  width: number | null;
  height: number | null;
  createdAt: string;
}

export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

/** Image types sharp decodes and browsers display; others (svg, heic, ...) are kept as files. */
export const THUMBNAIL_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);

export function kindOf(mimeType: string): AttachmentKind {
  const top = mimeType.split('/')[0];
  if (top === 'image' && THUMBNAIL_TYPES.has(mimeType)) return 'image';
  if (top === 'audio') return 'audio';
  if (top === 'video') return 'video';
  return 'file';
}

/** `type/subtype` in lower case, parameters dropped; undefined when it is not one. */
export function normalizeMime(raw: string): string | undefined {
  const base = raw.split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(base) ? base : undefined;
}

/** A room's `allowedFileTypes`: exact types or `type/*`; empty allows any. */
export function typeAllowed(mimeType: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((pattern) => {
    const p = pattern.trim().toLowerCase();
    return p.endsWith('/*') ? mimeType.startsWith(p.slice(0, -1)) : p === mimeType;
  });
}

/**
 * A file name safe to store and echo: the last path segment, control and bidi-override characters
 * removed, at most 255 characters. Undefined when nothing is left.
 */
export function cleanFileName(raw: string): string | undefined {
  const last = raw.split(/[/\\]/).pop() ?? '';
  const cleaned = last
    .replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, '')
    .trim()
    .slice(0, 255);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? undefined : cleaned;
}

/** Stable URLs (relative to the server): they go into the room log, so they must not expire. */
export function attachmentUrls(a: Pick<AttachmentRow, 'id' | 'thumb_key'>) {
  return {
    url: `/v1/attachments/${a.id}`,
    thumbnailUrl: a.thumb_key ? `/v1/attachments/${a.id}/thumbnail` : undefined,
  };
}

/** The attachment as a message carries it. */
export function toMessageAttachment(a: AttachmentRow): Attachment {
  const { url, thumbnailUrl } = attachmentUrls(a);
  return {
    id: a.id,
    type: a.kind as AttachmentKind,
    url,
    ...(thumbnailUrl ? { thumbnailUrl } : {}),
    fileName: a.file_name,
    fileSize: a.size,
    mimeType: a.mime_type,
  };
}

export function toAttachmentView(a: AttachmentRow): AttachmentView {
  return {
    ...toMessageAttachment(a),
    roomId: a.room_id,
    status: a.status as AttachmentView['status'],
    messageId: a.message_id,
    width: a.width,
    height: a.height,
    createdAt: new Date(a.created_at).toISOString(),
  };
}

/** A new attachment row, `pending` until its bytes are stored and checked. */
export function pendingAttachment(
  roomId: string,
  uploaderId: string,
  f: { fileName: string; mimeType: string; size: number; now: number },
): AttachmentRow {
  const id = newId('att');
  return {
    id,
    room_id: roomId,
    uploader_id: uploaderId,
    message_id: null,
    kind: kindOf(f.mimeType),
    file_name: f.fileName,
    mime_type: f.mimeType,
    size: f.size,
    storage_key: `att/${roomId}/${id}/original`,
    thumb_key: null,
    width: null,
    height: null,
    status: 'pending',
    created_at: f.now,
    completed_at: null,
    deleted_at: null,
  };
}
