import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startS3Server } from '../helpers/s3-server.js';
import { expectError, expectOk, history, join } from '../http/http-helpers.js';
import { closeAll, live, msgIn, newUsers, type WsClient } from '../realtime/ws-client.js';
import {
  type AttApp,
  absolute,
  type BlobBackend,
  complete,
  declare,
  download,
  expectNoBlobs,
  getRaw,
  jpegImage,
  json,
  keysOf,
  pngImage,
  putBytes,
  sendWith,
  startAttApp,
  storedBlobs,
  upload,
  uploadDirect,
} from './attachment-helpers.js';

/**
 * The attachment feature end to end, on every store backend × blob backend: declare, PUT to the
 * signed URL, complete, send, live delivery, download through the stable URL, thumbnails, deletion,
 * and the same over WebSocket frames.
 */

const s3 = await startS3Server();
afterAll(() => s3.close());

const BLOBS: BlobBackend[] = ['local', 's3'];

for (const backend of await availableBackends()) {
  for (const blob of BLOBS) {
    describe(`attachments end to end (${backend}, ${blob})`, () => {
      let t: AttApp;
      const sockets: WsClient[] = [];
      beforeAll(async () => {
        t = await startAttApp(backend, blob, s3);
      });
      afterAll(async () => {
        await closeAll(sockets);
        await t.close();
      });

      async function roomWithMember() {
        const [alice, bob] = await newUsers(t, 2);
        const room = await t.newRoom(alice);
        await join(t, bob, room.roomId);
        return { alice, bob, roomId: room.roomId as string };
      }

      it('presigned upload of an image, sent with empty content, delivered live and downloaded byte for byte', async () => {
        const { alice, bob, roomId } = await roomWithMember();
        const bobWs = await live(t, bob);
        sockets.push(bobWs);
        const png = await pngImage(640, 480);

        const before = Date.now();
        const declared = expectOk(
          await declare(t, alice, roomId, { fileName: 'photo.png', mimeType: 'image/png', size: png.length }),
          201,
        );
        const id: string = declared.attachment.id;
        expect(declared.attachment).toMatchObject({
          id,
          roomId,
          type: 'image',
          status: 'pending',
          messageId: null,
          fileName: 'photo.png',
          mimeType: 'image/png',
          fileSize: png.length,
          url: `/v1/attachments/${id}`,
          width: null,
          height: null,
        });
        expect(declared.attachment.thumbnailUrl).toBeUndefined();
        expect(declared.upload).toMatchObject({ method: 'PUT', headers: { 'content-type': 'image/png' } });
        const expiresAt = Date.parse(declared.upload.expiresAt);
        // UPLOAD_URL_TTL defaults to 900 s.
        expect(expiresAt).toBeGreaterThan(before + 890_000);
        expect(expiresAt).toBeLessThan(Date.now() + 901_000);
        if (blob === 'local') {
          expect(declared.upload.url).toMatch(
            new RegExp(`^/v1/files/${id}/original\\?exp=\\d+&sig=[0-9a-f]{64}$`),
          );
        } else {
          expect(
            declared.upload.url.startsWith(`${s3.endpoint}/${s3.bucket}/${keysOf(roomId, id).original}?`),
          ).toBe(true);
          expect(declared.upload.url).toContain('X-Amz-Signature=');
        }

        // Nothing can be sent before the bytes are there.
        expectError(await sendWith(t, alice, roomId, [id]), 409, 'UPLOAD_INCOMPLETE');
        // ...nor downloaded.
        expectError(
          await t.api('GET', `/v1/attachments/${id}/url`, { token: alice.token }),
          409,
          'UPLOAD_INCOMPLETE',
        );

        const put = await putBytes(t, declared.upload, png);
        const putBody = await json(put);
        expect(put.status, JSON.stringify(putBody)).toBe(200);
        let ready: any;
        if (blob === 'local') {
          // Switchboard's own upload URL completes the upload at once.
          ready = putBody.data;
        } else {
          // S3 stored the object; Switchboard does not know yet.
          expect(
            expectOk(await t.api('GET', `/v1/attachments/${id}/info`, { token: alice.token })).status,
          ).toBe('pending');
          ready = expectOk(await complete(t, alice, roomId, id));
          // complete is idempotent.
          expect(expectOk(await complete(t, alice, roomId, id))).toEqual(ready);
        }
        expect(ready).toMatchObject({
          id,
          status: 'ready',
          width: 640,
          height: 480,
          thumbnailUrl: `/v1/attachments/${id}/thumbnail`,
        });
        expect((await storedBlobs(t, roomId, id)).sort()).toEqual(
          [keysOf(roomId, id).original, keysOf(roomId, id).thumbnail].sort(),
        );

        const sent = expectOk(await sendWith(t, alice, roomId, [id]), 201);
        const expected = {
          id,
          type: 'image',
          url: `/v1/attachments/${id}`,
          thumbnailUrl: `/v1/attachments/${id}/thumbnail`,
          fileName: 'photo.png',
          fileSize: png.length,
          mimeType: 'image/png',
        };
        expect(sent).toMatchObject({ type: 'image', content: '', duplicate: false });
        expect(sent.attachments).toEqual([expected]);

        const frame = await bobWs.next(msgIn(roomId));
        expect(frame.message.messageId).toBe(sent.messageId);
        expect(frame.message.type).toBe('image');
        expect(frame.message.attachments).toEqual([expected]);

        const seen = (await history(t, bob, roomId)).find((m) => m.messageId === sent.messageId);
        expect(seen.attachments).toEqual([expected]);

        const info = expectOk(await t.api('GET', `/v1/attachments/${id}/info`, { token: bob.token }));
        expect(info).toMatchObject({
          id,
          status: 'ready',
          messageId: sent.messageId,
          width: 640,
          height: 480,
        });

        // Another member downloads through the stable URL: 302 to a signed URL, then the exact bytes.
        const original = await download(t, bob, expected.url);
        if (blob === 'local') expect(original.signedUrl).toMatch(new RegExp(`^/v1/files/${id}/original\\?`));
        else expect(original.signedUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*X-Amz-Signature=/);
        expect(original.res.status).toBe(200);
        expect(original.res.headers.get('content-type')).toBe('image/png');
        expect(original.bytes.equals(png)).toBe(true);

        const thumb = await download(t, bob, expected.thumbnailUrl);
        expect(thumb.res.status).toBe(200);
        expect(thumb.res.headers.get('content-type')).toBe('image/webp');
        const meta = await sharp(thumb.bytes).metadata();
        expect(meta.format).toBe('webp');
        expect({ w: meta.width, h: meta.height }).toEqual({ w: 320, h: 240 });

        // The explicit URL endpoint answers the same kind of signed URL, with its expiry.
        const signed = expectOk(
          await t.api('GET', `/v1/attachments/${id}/url?variant=thumbnail`, { token: bob.token }),
        );
        expect(Date.parse(signed.expiresAt)).toBeGreaterThan(Date.now() + 250_000); // FILE_URL_TTL 300 s
        const viaUrl = await fetch(absolute(t, signed.url));
        expect(Buffer.from(await viaUrl.arrayBuffer()).equals(thumb.bytes)).toBe(true);
      });

      it('an EXIF orientation 6 JPEG reports its upright (swapped) size; the thumbnail is upright too', async () => {
        const { alice, roomId } = await roomWithMember();
        const jpeg = await jpegImage(800, 400, 6);
        expect((await sharp(jpeg).metadata()).orientation).toBe(6);
        const ready = await upload(t, alice, roomId, {
          fileName: 'rotated.jpg',
          mimeType: 'image/jpeg',
          bytes: jpeg,
        });
        expect({ w: ready.width, h: ready.height }).toEqual({ w: 400, h: 800 });
        const sent = expectOk(await sendWith(t, alice, roomId, [ready.id]), 201);
        const thumb = await download(t, alice, sent.attachments[0].thumbnailUrl);
        const meta = await sharp(thumb.bytes).metadata();
        expect(meta.format).toBe('webp');
        expect({ w: meta.width, h: meta.height }).toEqual({ w: 160, h: 320 });
        // Metadata (EXIF) is stripped from the thumbnail.
        expect(meta.orientation).toBeUndefined();
        // The original is served untouched.
        const original = await download(t, alice, sent.attachments[0].url);
        expect(original.bytes.equals(jpeg)).toBe(true);
      });

      it('direct upload of a PDF: ready at once, type file, no thumbnail, downloads as an attachment', async () => {
        const { alice, bob, roomId } = await roomWithMember();
        const pdf = Buffer.from(
          '%PDF-1.4\n% not really a pdf, but nobody checks file types other than images\n',
        );
        const r = await uploadDirect(t, alice, roomId, 'report.pdf', 'application/pdf', pdf);
        const view = expectOk(r, 201);
        expect(view).toMatchObject({
          type: 'file',
          status: 'ready',
          fileName: 'report.pdf',
          mimeType: 'application/pdf',
          fileSize: pdf.length,
          width: null,
          height: null,
        });
        expect(view.thumbnailUrl).toBeUndefined();
        expect(await storedBlobs(t, roomId, view.id)).toEqual([keysOf(roomId, view.id).original]);

        const sent = expectOk(
          await sendWith(t, alice, roomId, [view.id], { content: 'the quarterly report' }),
          201,
        );
        expect(sent.type).toBe('file');
        expect(sent.content).toBe('the quarterly report');
        const got = await download(t, bob, sent.attachments[0].url);
        expect(got.res.status).toBe(200);
        expect(got.bytes.equals(pdf)).toBe(true);
        expect(got.res.headers.get('content-type')).toBe('application/pdf');
        expect(got.res.headers.get('content-disposition')).toMatch(/^attachment; filename="report\.pdf"/);
        // No thumbnail to point at.
        expectError(
          await t.api('GET', `/v1/attachments/${view.id}/url?variant=thumbnail`, { token: bob.token }),
          404,
          'NOT_FOUND',
        );
      });

      it('deleting the message makes the attachment 404 and removes its files', async () => {
        const { alice, bob, roomId } = await roomWithMember();
        const ready = await upload(t, alice, roomId, {
          fileName: 'gone.png',
          mimeType: 'image/png',
          bytes: await pngImage(50, 50),
        });
        const sent = expectOk(await sendWith(t, alice, roomId, [ready.id]), 201);
        // A signed URL handed out before the delete.
        const signed = expectOk(await t.api('GET', `/v1/attachments/${ready.id}/url`, { token: bob.token }));
        expect(await storedBlobs(t, roomId, ready.id)).toHaveLength(2);

        expectOk(
          await t.api('DELETE', `/v1/chat/rooms/${roomId}/messages/${sent.messageId}`, {
            token: alice.token,
          }),
        );
        for (const path of [
          `/v1/attachments/${ready.id}`,
          `/v1/attachments/${ready.id}/thumbnail`,
          `/v1/attachments/${ready.id}/info`,
          `/v1/attachments/${ready.id}/url`,
        ]) {
          expectError(await t.api('GET', path, { token: alice.token }), 404, 'ATTACHMENT_NOT_FOUND');
        }
        await expectNoBlobs(t, roomId, ready.id);
        expect(
          await t.sb.store.db.selectFrom('attachments').select('id').where('id', '=', ready.id).execute(),
        ).toEqual([]);
        // The deleted message no longer lists it.
        const msg = (await history(t, bob, roomId)).find((m) => m.messageId === sent.messageId);
        expect(msg?.attachments ?? []).toEqual([]);
        // The earlier signed URL no longer yields the file.
        const late = await fetch(absolute(t, signed.url));
        expect(late.status).toBe(404);
        await late.arrayBuffer();
      });

      it('over WebSocket: upload_request, PUT, upload_complete, send_message, download_request', async () => {
        const { alice, bob, roomId } = await roomWithMember();
        const [aliceWs, bobWs] = await Promise.all([live(t, alice), live(t, bob)]);
        sockets.push(aliceWs, bobWs);
        const png = await pngImage(300, 600);

        const ack = await aliceWs.request({
          type: 'upload_request',
          roomId,
          fileName: 'ws.png',
          mimeType: 'image/png',
          size: png.length,
        });
        expect(ack.type).toBe('ack');
        expect(ack.attachment).toMatchObject({
          status: 'pending',
          fileName: 'ws.png',
          type: 'image',
          roomId,
        });
        expect(ack.upload).toMatchObject({ method: 'PUT', headers: { 'content-type': 'image/png' } });
        const id: string = ack.attachment.id;

        const put = await putBytes(t, ack.upload, png);
        expect(put.status).toBe(200);
        await put.arrayBuffer();
        const done = await aliceWs.request({ type: 'upload_complete', roomId, attachmentId: id });
        expect(done.type).toBe('ack');
        expect(done.attachment).toMatchObject({ id, status: 'ready', width: 300, height: 600 });

        const sent = await aliceWs.request({
          type: 'send_message',
          roomId,
          content: '',
          clientMsgId: `ws-${id}`,
          attachments: [id],
        });
        expect(sent).toMatchObject({ type: 'ack', status: 'sent', roomId, duplicate: false });
        const frame = await bobWs.next(msgIn(roomId));
        expect(frame.message.messageId).toBe(sent.messageId);
        expect(frame.message.type).toBe('image');
        expect(frame.message.attachments).toEqual([
          expect.objectContaining({
            id,
            url: `/v1/attachments/${id}`,
            thumbnailUrl: `/v1/attachments/${id}/thumbnail`,
          }),
        ]);

        for (const type of ['download_request', 'image_download_request']) {
          const dl = await bobWs.request({ type, attachmentId: id });
          expect(dl).toMatchObject({
            type: 'ack',
            attachmentId: id,
            url: expect.any(String),
            expiresAt: expect.any(String),
          });
          const res = await fetch(absolute(t, dl.url));
          expect(res.status).toBe(200);
          expect(Buffer.from(await res.arrayBuffer()).equals(png)).toBe(true);
        }
        const dlThumb = await bobWs.request({
          type: 'download_request',
          attachmentId: id,
          variant: 'thumbnail',
        });
        const thumbRes = await fetch(absolute(t, dlThumb.url));
        const meta = await sharp(Buffer.from(await thumbRes.arrayBuffer())).metadata();
        expect({ format: meta.format, w: meta.width, h: meta.height }).toEqual({
          format: 'webp',
          w: 160,
          h: 320,
        });

        // The seed alias declares an upload the same way.
        const alias = await aliceWs.request({
          type: 'image_upload',
          roomId,
          fileName: 'alias.png',
          mimeType: 'image/png',
          size: png.length,
        });
        expect(alias.type).toBe('ack');
        expect(alias.attachment).toMatchObject({ status: 'pending', fileName: 'alias.png' });
        expect(alias.upload.method).toBe('PUT');
        const alsoPut = await putBytes(t, alias.upload, png);
        expect(alsoPut.status).toBe(200);
        await alsoPut.arrayBuffer();
        await aliceWs.ok({ type: 'upload_complete', roomId, attachmentId: alias.attachment.id });
        await aliceWs.ok({
          type: 'send_message',
          roomId,
          content: 'second',
          attachments: [alias.attachment.id],
        });
        const second = await bobWs.next(msgIn(roomId));
        expect(second.message.attachments[0].id).toBe(alias.attachment.id);

        // Errors come back as error frames with the HTTP codes.
        const tooBig = await aliceWs.request({
          type: 'upload_request',
          roomId,
          fileName: 'huge.bin',
          mimeType: 'application/octet-stream',
          size: 10_485_761,
        });
        expect(tooBig).toMatchObject({ type: 'error', code: 'FILE_TOO_LARGE' });
        const reused = await aliceWs.request({
          type: 'send_message',
          roomId,
          content: '',
          attachments: [id],
        });
        expect(reused).toMatchObject({ type: 'error', code: 'CONFLICT' });
        const eleven = await aliceWs.request({
          type: 'send_message',
          roomId,
          content: 'x',
          attachments: Array.from({ length: 11 }, (_, i) => `att_${i}`),
        });
        expect(eleven).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
        const missing = await bobWs.request({ type: 'download_request', attachmentId: 'att_doesnotexist' });
        expect(missing).toMatchObject({ type: 'error', code: 'ATTACHMENT_NOT_FOUND' });
        const notMine = await bobWs.request({ type: 'upload_complete', roomId, attachmentId: id });
        expect(notMine).toMatchObject({ type: 'error', code: 'ATTACHMENT_NOT_FOUND' });
        await bobWs.barrier();
        // Nothing else was broadcast for the refused frames.
        expect(bobWs.all(msgIn(roomId))).toHaveLength(2);
      });

      it('concurrent sends claiming one attachment: exactly one wins, the others get 409 CONFLICT', async () => {
        const { alice, bob, roomId } = await roomWithMember();
        const ready = await upload(t, alice, roomId, {
          fileName: 'race.txt',
          mimeType: 'text/plain',
          bytes: Buffer.from('race'),
        });
        const attempts = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            sendWith(t, alice, roomId, [ready.id], {
              content: `attempt ${i}`,
              clientMsgId: `race-${ready.id}-${i}`,
            }),
          ),
        );
        const won = attempts.filter((r) => r.status === 201);
        const lost = attempts.filter((r) => r.status !== 201);
        expect(won).toHaveLength(1);
        for (const r of lost) expectError(r, 409, 'CONFLICT');
        const withFile = (await history(t, bob, roomId)).filter((m) => m.attachments.length > 0);
        expect(withFile.map((m) => m.messageId)).toEqual([won[0]!.body.data.messageId]);
        expect(
          (
            await t.sb.store.db
              .selectFrom('attachments')
              .select('message_id')
              .where('id', '=', ready.id)
              .execute()
          )[0]?.message_id,
        ).toBe(won[0]!.body.data.messageId);
      });

      it('a stable URL needs a token; the signed URL does not', async () => {
        const { alice, roomId } = await roomWithMember();
        const ready = await upload(t, alice, roomId, {
          fileName: 'a.txt',
          mimeType: 'text/plain',
          bytes: Buffer.from('hello'),
        });
        const noToken = await getRaw(t, `/v1/attachments/${ready.id}`);
        expect(noToken.status).toBe(401);
        expect((await json(noToken)).error.code).toBe('UNAUTHENTICATED');
        const signed = expectOk(
          await t.api('GET', `/v1/attachments/${ready.id}/url`, { token: alice.token }),
        );
        const res = await fetch(absolute(t, signed.url));
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('hello');
      });
    });
  }
}
