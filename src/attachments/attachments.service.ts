import type { Readable } from 'node:stream';
import type { Principal } from '../auth/principal.js';
import { Errors } from '../errors/errors.js';
import { loadRoom, requireMember, requireReadable } from '../rooms/room-access.js';
import { atLeast, readSettings } from '../rooms/room-model.js';
import type { AttachmentRow } from '../store/database.js';
import type { Store } from '../store/store.js';
import {
  type AttachmentView,
  cleanFileName,
  normalizeMime,
  pendingAttachment,
  THUMBNAIL_TYPES,
  toAttachmentView,
  typeAllowed,
  type UploadDeclaration,
} from './attachment-model.js';
import type { BlobStore, PresignedUpload } from './blob-store.js';
import { makeThumbnail } from './thumbnails.js';
import type { UrlSigner } from './url-signer.js';

export interface AttachmentsOptions {
  /** Server limit in bytes; rooms may only lower it. */
  maxFileSize: number;
  uploadUrlTtlSec: number;
  fileUrlTtlSec: number;
  maxPendingUploads: number;
}

export interface SignedDownload {
  url: string;
  expiresAt: string;
}

export interface OpenedFile {
  body: Readable;
  contentType: string;
  size: number;
  fileName: string;
  /** Only raster images the browser renders safely are shown inline; everything else downloads. */
  inline: boolean;
}

export type Variant = 'original' | 'thumbnail';

/** Uploads never used by a message are deleted after this long. */
export const ABANDONED_AFTER_MS = 86_400_000;

/**
 * Attachments: an upload is declared (name, type, size) and checked against the room's settings,
 * then its bytes arrive through a signed URL (S3 presigned PUT, or Switchboard's own for local
 * files) or in one direct request; completing it checks the stored bytes and makes a thumbnail for
 * images. A send then claims it for a message (send-checks.ts). Downloads are authorized by room
 * access and served through short-lived signed URLs.
 */
export class AttachmentsService {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly signer: UrlSigner,
    private readonly opts: AttachmentsOptions,
    private readonly log: { warn(obj: object, msg: string): void },
    private readonly now: () => number = Date.now,
  ) {}

  /** Declares an upload and answers where to PUT the bytes. */
  async requestUpload(
    p: Principal,
    roomId: string,
    decl: UploadDeclaration,
  ): Promise<{ attachment: AttachmentView; upload: PresignedUpload }> {
    const row = await this.declare(p, roomId, decl);
    const expiresAtMs = this.now() + this.opts.uploadUrlTtlSec * 1000;
    let upload: PresignedUpload;
    if (this.blobs.presignPut) {
      upload = await this.blobs.presignPut(row.storage_key, {
        contentType: row.mime_type,
        size: row.size,
        expiresInSec: this.opts.uploadUrlTtlSec,
      });
    } else {
      upload = {
        url: this.signer.sign('put', row.id, 'original', expiresAtMs),
        method: 'PUT',
        headers: { 'content-type': row.mime_type },
        expiresAt: new Date(Math.floor(expiresAtMs / 1000) * 1000).toISOString(),
      };
    }
    return { attachment: toAttachmentView(row), upload };
  }

  /** One request with the bytes: declare, store, complete. */
  async uploadDirect(
    p: Principal,
    roomId: string,
    decl: UploadDeclaration,
    body: Readable,
  ): Promise<AttachmentView> {
    const row = await this.declare(p, roomId, decl);
    try {
      await this.storeBytes(row, body);
      return await this.finish(row);
    } catch (err) {
      // The client never learns this id (the body was cut off, too long, ...): drop the row so it
      // does not hold one of the uploader's pending-upload slots until the abandoned-upload sweep.
      try {
        await this.store.repos.attachments.markDeleted(row.id, this.now());
        await this.purgeDeleted();
      } catch (cleanupErr) {
        this.log.warn({ err: cleanupErr, attachmentId: row.id }, 'dropping a failed direct upload failed');
      }
      throw err;
    }
  }

  /**
   * Stores a file a server feature produced (an agent's report) as a ready attachment of `roomId`
   * uploaded by `uploaderId` (a bot), for that feature to attach to its own post (postAsServer
   * `attachmentIds`). Skips the member, room-setting and pending-upload checks a user's upload gets,
   * but not the server's size limit. A file no post claims is swept like an abandoned upload.
   */
  async storeServerFile(
    roomId: string,
    uploaderId: string,
    file: { fileName: string; mimeType: string; data: Buffer },
  ): Promise<AttachmentView> {
    const fileName = cleanFileName(file.fileName);
    const mimeType = normalizeMime(file.mimeType);
    if (!fileName || !mimeType) throw Errors.validation('A server file needs a file name and a MIME type');
    if (file.data.length > this.opts.maxFileSize) {
      throw Errors.fileTooLarge(`Files may be at most ${this.opts.maxFileSize} bytes`);
    }
    const row = pendingAttachment(roomId, uploaderId, {
      fileName,
      mimeType,
      size: file.data.length,
      now: this.now(),
    });
    await this.store.repos.attachments.insert(row);
    await this.blobs.put(row.storage_key, file.data, { contentType: mimeType, size: row.size });
    return this.finish(row);
  }

  /** The PUT behind a Switchboard-signed upload URL (local storage). */
  async receiveSignedUpload(
    attachmentId: string,
    exp: number,
    sig: string,
    contentType: string | undefined,
    body: Readable,
  ): Promise<AttachmentView> {
    if (!this.signer.verify('put', attachmentId, 'original', exp, sig, this.now())) {
      throw Errors.forbidden('The upload URL is invalid or has expired');
    }
    const row = await this.store.repos.attachments.findById(attachmentId);
    if (!row || row.deleted_at !== null) throw Errors.attachmentNotFound();
    if (row.status === 'ready') throw Errors.conflict('This attachment has already been uploaded');
    if (normalizeMime(contentType ?? '') !== row.mime_type) {
      throw Errors.validation(`Content-Type must be ${row.mime_type}, as declared`);
    }
    await this.storeBytes(row, body);
    return this.finish(row);
  }

  /** After a presigned upload to S3: checks the stored object and makes the thumbnail. Idempotent. */
  async complete(p: Principal, roomId: string, attachmentId: string): Promise<AttachmentView> {
    const row = await this.ownPending(p, roomId, attachmentId);
    if (row.status === 'ready') return toAttachmentView(row);
    return this.finish(row);
  }

  /** Metadata: the uploader sees its pending uploads; others see attachments of messages they can read. */
  async get(p: Principal, attachmentId: string): Promise<AttachmentView> {
    return toAttachmentView(await this.readable(p, attachmentId));
  }

  /** A short-lived URL for the file or its thumbnail. */
  async downloadUrl(p: Principal, attachmentId: string, variant: Variant): Promise<SignedDownload> {
    const row = await this.readable(p, attachmentId);
    if (row.status !== 'ready') throw Errors.uploadIncomplete();
    const key = variant === 'thumbnail' ? row.thumb_key : row.storage_key;
    if (!key) throw Errors.notFound('This attachment has no thumbnail');
    const expiresAtMs = this.now() + this.opts.fileUrlTtlSec * 1000;
    const expiresAt = new Date(Math.floor(expiresAtMs / 1000) * 1000).toISOString();
    if (this.blobs.presignGet) {
      const thumb = variant === 'thumbnail';
      const url = await this.blobs.presignGet(key, {
        expiresInSec: this.opts.fileUrlTtlSec,
        // Thumbnails are shown inline; originals always download, so no uploaded HTML or SVG
        // can run in a page's context.
        ...(thumb ? { contentType: 'image/webp' } : { fileName: row.file_name, contentType: row.mime_type }),
      });
      return { url, expiresAt };
    }
    return { url: this.signer.sign('get', row.id, variant, expiresAtMs), expiresAt };
  }

  /** The file behind a Switchboard-signed download URL. */
  async openSigned(attachmentId: string, variant: string, exp: number, sig: string): Promise<OpenedFile> {
    if (variant !== 'original' && variant !== 'thumbnail') throw Errors.notFound();
    if (!this.signer.verify('get', attachmentId, variant, exp, sig, this.now())) {
      throw Errors.forbidden('The download URL is invalid or has expired');
    }
    const row = await this.store.repos.attachments.findById(attachmentId);
    if (!row || row.deleted_at !== null) throw Errors.attachmentNotFound();
    const key = variant === 'thumbnail' ? row.thumb_key : row.storage_key;
    const blob = key ? await this.blobs.get(key) : undefined;
    if (!blob) throw Errors.attachmentNotFound();
    return {
      body: blob.body,
      contentType: blob.info.contentType,
      size: blob.info.size,
      fileName: variant === 'thumbnail' ? `${row.id}.webp` : row.file_name,
      inline: variant === 'thumbnail' || THUMBNAIL_TYPES.has(row.mime_type),
    };
  }

  /** The uploader drops an upload no message uses. */
  async remove(p: Principal, roomId: string, attachmentId: string): Promise<void> {
    const row = await this.store.repos.attachments.findById(attachmentId);
    if (!row || row.room_id !== roomId || row.deleted_at !== null || row.uploader_id !== p.userId) {
      throw Errors.attachmentNotFound();
    }
    if (row.message_id !== null) {
      throw Errors.conflict('This attachment belongs to a message; delete the message instead');
    }
    await this.store.repos.attachments.markDeleted(row.id, this.now());
    await this.purgeDeleted();
  }

  /**
   * Removes the blobs of attachments marked deleted, then their rows. Rows stay until their blobs
   * are gone, so a failure here is retried by the next run (the retention timer calls it).
   */
  async purgeDeleted(limit = 500): Promise<number> {
    const rows = await this.store.repos.attachments.listDeleted(limit);
    if (rows.length === 0) return 0;
    const keys = rows.flatMap((r) => (r.thumb_key ? [r.storage_key, r.thumb_key] : [r.storage_key]));
    try {
      await this.blobs.deleteMany(keys);
    } catch (err) {
      this.log.warn({ err, count: keys.length }, 'deleting attachment files failed; will retry');
      return 0;
    }
    await this.store.repos.attachments.deleteRows(rows.map((r) => r.id));
    return rows.length;
  }

  /** Marks uploads no message used within a day, then purges. */
  async sweepAbandoned(): Promise<number> {
    const now = this.now();
    await this.store.repos.attachments.markAbandoned(now - ABANDONED_AFTER_MS, now);
    let total = 0;
    for (let n = await this.purgeDeleted(); n > 0; n = await this.purgeDeleted()) total += n;
    return total;
  }

  /** Checks a declaration against the room and the uploader's quota, and records it. */
  private async declare(p: Principal, roomId: string, decl: UploadDeclaration): Promise<AttachmentRow> {
    const fileName = cleanFileName(decl.fileName);
    if (!fileName) throw Errors.validation('fileName is empty after removing paths and control characters');
    const mimeType = normalizeMime(decl.mimeType);
    if (!mimeType) throw Errors.validation('mimeType must be a MIME type such as image/png');
    if (!Number.isSafeInteger(decl.size) || decl.size < 0)
      throw Errors.validation('size must be a byte count');

    const now = this.now();
    const a = await loadRoom(this.store.repos, p, roomId, now);
    const m = requireMember(a);
    if (a.room.type === 'announcement' && !atLeast(m.role, 'admin')) throw Errors.readOnlyRoom();
    if (m.muted_until !== null && m.muted_until > now) throw Errors.muted();
    const settings = readSettings(a.room.settings);
    if (!settings.allowFileUploads) throw Errors.forbidden('File uploads are turned off in this room');
    const limit = Math.min(this.opts.maxFileSize, settings.maxFileSize || this.opts.maxFileSize);
    if (decl.size > limit) {
      throw Errors.fileTooLarge(`Files in this room may be at most ${limit} bytes`, { maxFileSize: limit });
    }
    if (!typeAllowed(mimeType, settings.allowedFileTypes)) {
      throw Errors.unsupportedFileType(`This room accepts ${settings.allowedFileTypes.join(', ')}`, {
        allowedFileTypes: settings.allowedFileTypes,
      });
    }
    if ((await this.store.repos.attachments.countUnattached(p.userId)) >= this.opts.maxPendingUploads) {
      throw Errors.tooManyUploads(
        `At most ${this.opts.maxPendingUploads} uploads may wait for a message; send or delete some`,
      );
    }
    const row = pendingAttachment(roomId, p.userId, { fileName, mimeType, size: decl.size, now });
    await this.store.repos.attachments.insert(row);
    return row;
  }

  private async storeBytes(row: AttachmentRow, body: Readable): Promise<void> {
    try {
      await this.blobs.put(row.storage_key, body, { contentType: row.mime_type, size: row.size });
    } catch (err) {
      if (/size mismatch/i.test((err as Error).message)) {
        throw Errors.validation(`The upload must be exactly ${row.size} bytes, as declared`);
      }
      throw err;
    }
  }

  /** Checks the stored bytes, makes the thumbnail, marks the attachment ready. */
  private async finish(row: AttachmentRow): Promise<AttachmentView> {
    const info = await this.blobs.head(row.storage_key);
    if (!info) throw Errors.uploadIncomplete();
    if (info.size !== row.size) {
      await this.blobs.delete(row.storage_key);
      throw Errors.uploadIncomplete(`The stored file has ${info.size} bytes, not the ${row.size} declared`);
    }
    const patch: Partial<AttachmentRow> = { status: 'ready', completed_at: this.now() };
    if (row.kind === 'image') {
      const blob = await this.blobs.get(row.storage_key);
      if (!blob) throw Errors.uploadIncomplete();
      try {
        const thumb = await makeThumbnail(await readAll(blob.body));
        const thumbKey = row.storage_key.replace(/\/original$/, '/thumbnail');
        await this.blobs.put(thumbKey, thumb.data, {
          contentType: thumb.contentType,
          size: thumb.data.length,
        });
        Object.assign(patch, { thumb_key: thumbKey, width: thumb.width, height: thumb.height });
      } catch (err) {
        // Declared as an image but not one sharp can read: refuse it rather than store a lie.
        await this.store.repos.attachments.markDeleted(row.id, this.now());
        await this.purgeDeleted();
        throw Errors.validation(
          `The file is not a readable ${row.mime_type} image (${(err as Error).message})`,
        );
      }
    }
    await this.store.repos.attachments.update(row.id, patch);
    return toAttachmentView({ ...row, ...patch } as AttachmentRow);
  }

  private async ownPending(p: Principal, roomId: string, attachmentId: string): Promise<AttachmentRow> {
    const row = await this.store.repos.attachments.findById(attachmentId);
    if (!row || row.room_id !== roomId || row.deleted_at !== null || row.uploader_id !== p.userId) {
      throw Errors.attachmentNotFound();
    }
    return row;
  }

  /** Attachments the caller may read; the same not-found answer for everything else. */
  private async readable(p: Principal, attachmentId: string): Promise<AttachmentRow> {
    const row = await this.store.repos.attachments.findById(attachmentId);
    if (!row || row.deleted_at !== null) throw Errors.attachmentNotFound();
    if (row.message_id === null) {
      if (row.uploader_id !== p.userId) throw Errors.attachmentNotFound();
      return row;
    }
    try {
      requireReadable(await loadRoom(this.store.repos, p, row.room_id, this.now()));
    } catch {
      throw Errors.attachmentNotFound();
    }
    return row;
  }
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
