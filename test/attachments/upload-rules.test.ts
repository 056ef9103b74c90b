import { Readable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UrlSigner } from '../../src/attachments/url-signer.js';
import { availableBackends } from '../helpers/backends.js';
import { startS3Server } from '../helpers/s3-server.js';
import { expectError, expectOk, join } from '../http/http-helpers.js';
import { closeAll, live, newUsers, type WsClient } from '../realtime/ws-client.js';
import {
  type AttApp,
  absolute,
  attachmentRow,
  type BlobBackend,
  complete,
  declare,
  eventually,
  expectNoBlobs,
  filesOnDisk,
  getRaw,
  json,
  pending,
  pngClaiming,
  pngImage,
  putBytes,
  rawRequest,
  rowsOf,
  sendWith,
  startAttApp,
  storedBlobs,
  TEST_JWT_SECRET,
  upload,
  uploadDirect,
  withParam,
} from './attachment-helpers.js';

/**
 * Uploads: direct-upload framing (Content-Length), room and server limits, the pending quota, bad
 * declarations, bytes that are not what was declared, and tampered or expired signed URLs.
 * Runs on the first store backend (SQLite by default) with both blob backends.
 */

const s3 = await startS3Server();
afterAll(() => s3.close());
const backend = (await availableBackends())[0]!;
const BLOBS: BlobBackend[] = ['local', 's3'];

for (const blob of BLOBS) {
  describe(`attachment uploads (${backend}, ${blob})`, () => {
    let t: AttApp;
    const sockets: WsClient[] = [];
    beforeAll(async () => {
      t = await startAttApp(backend, blob, s3);
    });
    afterAll(async () => {
      await closeAll(sockets);
      await t.close();
    });

    async function owner(settings?: Record<string, unknown>) {
      const [alice] = await newUsers(t, 1);
      const room = await t.newRoom(alice, settings ? { settings } : {});
      return { alice, roomId: room.roomId as string };
    }

    describe('direct upload framing', () => {
      it('refuses a body without Content-Length (chunked) with 411 and stores nothing', async () => {
        const { alice, roomId } = await owner();
        const body = Readable.toWeb(Readable.from([Buffer.from('%PDF-1.4 '), Buffer.from('chunked body')]));
        const res = await fetch(
          `${t.baseUrl}/v1/chat/rooms/${roomId}/attachments/content?fileName=report.pdf`,
          {
            method: 'POST',
            headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/pdf' },
            body: body as ReadableStream,
            duplex: 'half',
          } as RequestInit,
        );
        const answer = await json(res);
        expect({ status: res.status, code: answer.error?.code }).toEqual({
          status: 411,
          code: 'LENGTH_REQUIRED',
        });
        expect(await rowsOf(t, alice)).toEqual([]);
      });

      it('a client that dies mid-body (shorter than Content-Length) leaves no file and no attachment', async () => {
        const { alice, roomId } = await owner();
        const head = [
          `POST /v1/chat/rooms/${roomId}/attachments/content?fileName=cut.bin HTTP/1.1`,
          `Host: 127.0.0.1`,
          `Authorization: Bearer ${alice.token}`,
          'Content-Type: application/octet-stream',
          'Content-Length: 100000',
          '',
          '',
        ].join('\n');
        const r = await rawRequest(t, head, Buffer.alloc(1000, 7), { abortAfterMs: 300 });
        expect(r.status).toBeUndefined(); // no answer before the client gave up
        await eventually(async () => {
          // The quota must not be eaten by an upload the client never got an id for.
          expect((await rowsOf(t, alice)).filter((row) => row.deleted_at === null)).toEqual([]);
        });
        await eventually(async () => {
          expect(filesOnDisk(t).filter((f) => f.includes(roomId))).toEqual([]);
        });
        const rows = await rowsOf(t, alice);
        for (const row of rows) await expectNoBlobs(t, roomId, row.id);
      });

      it('a request with both Content-Length and Transfer-Encoding is refused before anything is stored', async () => {
        const { alice, roomId } = await owner();
        const head = [
          `POST /v1/chat/rooms/${roomId}/attachments/content?fileName=smuggle.bin HTTP/1.1`,
          `Host: 127.0.0.1`,
          `Authorization: Bearer ${alice.token}`,
          'Content-Type: application/octet-stream',
          'Content-Length: 3',
          'Transfer-Encoding: chunked',
          '',
          '',
        ].join('\n');
        const r = await rawRequest(t, head, Buffer.from('a\r\n0123456789\r\n0\r\n\r\n'));
        expect(r.status).toBe(400);
        expect(await rowsOf(t, alice)).toEqual([]);
      });

      it('a direct upload with an empty file works (0 bytes)', async () => {
        const { alice, roomId } = await owner();
        const view = expectOk(
          await uploadDirect(t, alice, roomId, 'empty.txt', 'text/plain', Buffer.alloc(0)),
          201,
        );
        expect(view).toMatchObject({ status: 'ready', fileSize: 0 });
        const sent = expectOk(await sendWith(t, alice, roomId, [view.id]), 201);
        const signed = expectOk(await t.api('GET', `/v1/attachments/${view.id}/url`, { token: alice.token }));
        const res = await fetch(absolute(t, signed.url));
        expect(res.status).toBe(200);
        expect((await res.arrayBuffer()).byteLength).toBe(0);
        expect(sent.attachments[0].fileSize).toBe(0);
      });
    });

    describe('room and server limits', () => {
      it('allowFileUploads false refuses uploads with 403 FORBIDDEN (declare, direct, frame)', async () => {
        const { alice, roomId } = await owner({ allowFileUploads: false });
        expectError(
          await declare(t, alice, roomId, { fileName: 'a.txt', mimeType: 'text/plain', size: 1 }),
          403,
          'FORBIDDEN',
        );
        expectError(
          await uploadDirect(t, alice, roomId, 'a.txt', 'text/plain', Buffer.from('a')),
          403,
          'FORBIDDEN',
        );
        const ws = await live(t, alice);
        sockets.push(ws);
        const f = await ws.request({
          type: 'upload_request',
          roomId,
          fileName: 'a.txt',
          mimeType: 'text/plain',
          size: 1,
        });
        expect(f).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
        expect(await rowsOf(t, alice)).toEqual([]);
        // Turning it on again allows them.
        expectOk(
          await t.api('PATCH', `/v1/chat/rooms/${roomId}`, {
            token: alice.token,
            body: { settings: { allowFileUploads: true } },
          }),
        );
        expectOk(
          await declare(t, alice, roomId, { fileName: 'a.txt', mimeType: 'text/plain', size: 1 }),
          201,
        );
      });

      it("over the room's maxFileSize is 413 FILE_TOO_LARGE with details.maxFileSize; exactly at it is fine", async () => {
        const { alice, roomId } = await owner({ maxFileSize: 1000 });
        const r = await declare(t, alice, roomId, {
          fileName: 'big.bin',
          mimeType: 'application/octet-stream',
          size: 1001,
        });
        expectError(r, 413, 'FILE_TOO_LARGE');
        expect(r.body.error.details).toEqual({ maxFileSize: 1000 });
        expectError(
          await uploadDirect(t, alice, roomId, 'big.bin', 'application/octet-stream', Buffer.alloc(1001)),
          413,
          'FILE_TOO_LARGE',
        );
        expectOk(
          await declare(t, alice, roomId, {
            fileName: 'ok.bin',
            mimeType: 'application/octet-stream',
            size: 1000,
          }),
          201,
        );
      });

      it("allowedFileTypes ['image/*'] refuses application/pdf with 415 and accepts image/png", async () => {
        const { alice, roomId } = await owner({ allowedFileTypes: ['image/*'] });
        const r = await declare(t, alice, roomId, {
          fileName: 'r.pdf',
          mimeType: 'application/pdf',
          size: 10,
        });
        expectError(r, 415, 'UNSUPPORTED_FILE_TYPE');
        expect(r.body.error.details).toEqual({ allowedFileTypes: ['image/*'] });
        expectError(
          await uploadDirect(t, alice, roomId, 'r.pdf', 'application/pdf', Buffer.from('%PDF')),
          415,
          'UNSUPPORTED_FILE_TYPE',
        );
        const png = await pngImage(10, 10);
        const ready = await upload(t, alice, roomId, {
          fileName: 'ok.png',
          mimeType: 'image/png',
          bytes: png,
        });
        expect(ready).toMatchObject({ status: 'ready', type: 'image' });
        // A prefix is not a pattern: "image/*" must not admit "imagex/...".
        expectError(
          await declare(t, alice, roomId, { fileName: 'x', mimeType: 'imagex/png', size: 1 }),
          415,
          'UNSUPPORTED_FILE_TYPE',
        );
      });

      it('an exact allowedFileTypes entry matches regardless of case and parameters', async () => {
        const { alice, roomId } = await owner({ allowedFileTypes: ['text/plain'] });
        const r = expectOk(
          await declare(t, alice, roomId, {
            fileName: 'a.txt',
            mimeType: 'Text/Plain; charset=utf-8',
            size: 1,
          }),
          201,
        );
        expect(r.attachment.mimeType).toBe('text/plain');
        expect(r.upload.headers['content-type']).toBe('text/plain');
      });
    });

    describe('bad input', () => {
      it('file names lose their path, control and bidi-override characters', async () => {
        const { alice, roomId } = await owner();
        const cases: [string, string][] = [
          ['../../etc/passwd', 'passwd'],
          ['..\\..\\windows\\win.ini', 'win.ini'],
          ['re\u0000po\u0007rt\n\t.txt', 'report.txt'],
          ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
          ['  spaced name.txt  ', 'spaced name.txt'],
          ['résumé.txt', 'résumé.txt'],
        ];
        for (const [raw, stored] of cases) {
          const r = expectOk(
            await declare(t, alice, roomId, { fileName: raw, mimeType: 'text/plain', size: 1 }),
            201,
          );
          expect(r.attachment.fileName, JSON.stringify(raw)).toBe(stored);
          expect((await attachmentRow(t, r.attachment.id))?.file_name).toBe(stored);
          expect(r.attachment.url).toBe(`/v1/attachments/${r.attachment.id}`);
        }
        // The direct upload takes its name from the query and cleans it the same way.
        const direct = expectOk(
          await uploadDirect(t, alice, roomId, '../../etc/passwd', 'text/plain', Buffer.from('x')),
          201,
        );
        expect(direct.fileName).toBe('passwd');
        // Names that are nothing but paths or control characters are refused.
        for (const raw of ['../..', '/', '\u0001\u0002', 'dir/..']) {
          expectError(
            await declare(t, alice, roomId, { fileName: raw, mimeType: 'text/plain', size: 1 }),
            400,
            'VALIDATION_FAILED',
          );
        }
      });

      it('bad MIME types and sizes are 400', async () => {
        const { alice, roomId } = await owner();
        const bad: Record<string, unknown>[] = [
          { fileName: 'a', mimeType: 'not a mime type', size: 1 },
          { fileName: 'a', mimeType: 'image/', size: 1 },
          { fileName: 'a', mimeType: 'image/png\r\nx-evil: 1', size: 1 },
          { fileName: 'a', mimeType: 'text/plain', size: -1 },
          { fileName: 'a', mimeType: 'text/plain', size: 1.5 },
          { fileName: 'a', mimeType: 'text/plain', size: '12' },
          { fileName: 'a', mimeType: 'text/plain' },
          { fileName: '', mimeType: 'text/plain', size: 1 },
          { fileName: 'a', mimeType: 'text/plain', size: 1, extra: true },
        ];
        for (const body of bad) {
          const r = await declare(t, alice, roomId, body);
          expect(r.status, JSON.stringify(body)).toBe(400);
          expect(r.body.error.code).toBe('VALIDATION_FAILED');
        }
        // The direct upload takes the type from Content-Type.
        expectError(
          await uploadDirect(t, alice, roomId, 'a.bin', 'garbage', Buffer.from('x')),
          400,
          'VALIDATION_FAILED',
        );
        expect(await rowsOf(t, alice)).toEqual([]);
      });

      it('declared image/png but the bytes are text: completion is refused with 400 and the attachment is gone', async () => {
        const { alice, roomId } = await owner();
        const text = Buffer.from('this is not a png at all, just text pretending');
        const declared = expectOk(
          await declare(t, alice, roomId, { fileName: 'fake.png', mimeType: 'image/png', size: text.length }),
          201,
        );
        const id = declared.attachment.id;
        const put = await putBytes(t, declared.upload, text);
        const putBody = await json(put);
        let refusal: { status: number; body: any };
        if (blob === 'local') {
          refusal = { status: put.status, body: putBody };
        } else {
          expect(put.status).toBe(200);
          refusal = await complete(t, alice, roomId, id);
        }
        expect(refusal.status).toBe(400);
        expect(refusal.body.error.code).toBe('VALIDATION_FAILED');
        expect(refusal.body.error.message).toMatch(/image/);
        expectError(
          await t.api('GET', `/v1/attachments/${id}/info`, { token: alice.token }),
          404,
          'ATTACHMENT_NOT_FOUND',
        );
        expectError(await complete(t, alice, roomId, id), 404, 'ATTACHMENT_NOT_FOUND');
        expectError(await sendWith(t, alice, roomId, [id]), 404, 'ATTACHMENT_NOT_FOUND');
        expect(await attachmentRow(t, id)).toBeUndefined();
        await expectNoBlobs(t, roomId, id);

        // The direct upload refuses it the same way.
        const direct = await uploadDirect(t, alice, roomId, 'fake.png', 'image/png', text);
        expectError(direct, 400, 'VALIDATION_FAILED');
        expect((await rowsOf(t, alice)).filter((r) => r.deleted_at === null)).toEqual([]);
      });

      it('an image whose header claims over 50 megapixels is refused before decoding, and removed', async () => {
        const { alice, roomId } = await owner();
        const bomb = await pngClaiming(10_000, 8_000);
        const sharpMeta = await sharp(bomb).metadata();
        expect({ w: sharpMeta.width, h: sharpMeta.height }).toEqual({ w: 10_000, h: 8_000 });
        const declared = expectOk(
          await declare(t, alice, roomId, { fileName: 'bomb.png', mimeType: 'image/png', size: bomb.length }),
          201,
        );
        const put = await putBytes(t, declared.upload, bomb);
        const putBody = await json(put);
        let refusal: { status: number; body: any } = { status: put.status, body: putBody };
        if (blob === 's3') {
          expect(put.status).toBe(200);
          refusal = await complete(t, alice, roomId, declared.attachment.id);
        }
        expect(refusal.status).toBe(400);
        expect(refusal.body.error.message).toMatch(/pixel limit/);
        expect(await attachmentRow(t, declared.attachment.id)).toBeUndefined();
        await expectNoBlobs(t, roomId, declared.attachment.id);
      });

      it('the upload URL only takes the declared length', async () => {
        const { alice, roomId } = await owner();
        const declared = expectOk(
          await declare(t, alice, roomId, { fileName: 'five.txt', mimeType: 'text/plain', size: 5 }),
          201,
        );
        const id = declared.attachment.id;
        const longer = await putBytes(t, declared.upload, Buffer.from('0123456789'));
        const shorter = await putBytes(t, declared.upload, Buffer.from('012'));
        const longerBody = await json(longer);
        await shorter.arrayBuffer();
        if (blob === 'local') {
          expect({ status: longer.status, code: longerBody.error?.code }).toEqual({
            status: 400,
            code: 'VALIDATION_FAILED',
          });
          expect(shorter.status).toBe(400);
        } else {
          // Content-Length is part of the S3 signature.
          expect(longer.status).toBe(403);
          expect(shorter.status).toBe(403);
        }
        expect(await storedBlobs(t, roomId, id)).toEqual([]);
        expect(filesOnDisk(t).filter((f) => f.includes(id))).toEqual([]);
        if (blob === 's3') expectError(await complete(t, alice, roomId, id), 409, 'UPLOAD_INCOMPLETE');
        // Still pending; the right bytes complete it.
        expect((await attachmentRow(t, id))?.status).toBe('pending');
        const ok = await putBytes(t, declared.upload, Buffer.from('hello'));
        expect(ok.status).toBe(200);
        await ok.arrayBuffer();
        if (blob === 's3') expectOk(await complete(t, alice, roomId, id));
        expect((await attachmentRow(t, id))?.status).toBe('ready');
      });

      it('the upload URL refuses another Content-Type', async () => {
        const { alice, roomId } = await owner();
        const png = await pngImage(8, 8);
        const declared = expectOk(
          await declare(t, alice, roomId, { fileName: 'p.png', mimeType: 'image/png', size: png.length }),
          201,
        );
        const wrong = await putBytes(t, declared.upload, png, { 'content-type': 'text/html' });
        const body = await json(wrong);
        if (blob === 'local') {
          expect({ status: wrong.status, code: body.error?.code }).toEqual({
            status: 400,
            code: 'VALIDATION_FAILED',
          });
        } else {
          expect(wrong.status).toBe(403); // SignatureDoesNotMatch
        }
        expect(await storedBlobs(t, roomId, declared.attachment.id)).toEqual([]);
        expect((await attachmentRow(t, declared.attachment.id))?.status).toBe('pending');
      });

      if (blob === 'local') {
        it('tampered or expired upload URLs are 403; a PUT to a ready attachment is 409', async () => {
          const { alice, roomId } = await owner();
          const bytes = Buffer.from('abc');
          const declared = expectOk(
            await declare(t, alice, roomId, {
              fileName: 'a.txt',
              mimeType: 'text/plain',
              size: bytes.length,
            }),
            201,
          );
          const id: string = declared.attachment.id;
          const url: string = declared.upload.url;
          const exp = Number(new URL(url, t.baseUrl).searchParams.get('exp'));
          const sig = new URL(url, t.baseUrl).searchParams.get('sig')!;
          const flipped = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1);
          const expired = new UrlSigner(TEST_JWT_SECRET).sign('put', id, 'original', Date.now() - 5000);
          const other = await pending(t, alice, roomId);
          const attempts = [
            withParam(url, 'sig', flipped),
            withParam(url, 'sig', 'nothex'),
            withParam(url, 'exp', String(exp + 3600)), // a longer life is not what was signed
            expired, // correctly signed, but in the past
            url.replace(id, other.attachment.id), // another attachment's path
          ];
          for (const attempt of attempts) {
            const r = await putBytes(t, { url: attempt, headers: declared.upload.headers }, bytes);
            const body = await json(r);
            expect({ url: attempt, status: r.status, code: body.error?.code }).toEqual({
              url: attempt,
              status: 403,
              code: 'FORBIDDEN',
            });
          }
          expect(await storedBlobs(t, roomId, id)).toEqual([]);
          // Without exp/sig at all: a validation error, not a silent upload.
          const bare = await putBytes(
            t,
            { url: `/v1/files/${id}/original`, headers: declared.upload.headers },
            bytes,
          );
          expect(bare.status).toBe(400);
          await bare.arrayBuffer();

          const ok = await putBytes(t, declared.upload, bytes);
          expect(ok.status).toBe(200);
          await ok.arrayBuffer();
          const again = await putBytes(t, declared.upload, Buffer.from('xyz'));
          const againBody = await json(again);
          expect({ status: again.status, code: againBody.error?.code }).toEqual({
            status: 409,
            code: 'CONFLICT',
          });
          // The first bytes are kept.
          const signed = expectOk(await t.api('GET', `/v1/attachments/${id}/url`, { token: alice.token }));
          expect(await (await fetch(absolute(t, signed.url))).text()).toBe('abc');
          // An upload URL is not a download URL (and vice versa).
          const asGet = await getRaw(t, url);
          expect(asGet.status).toBe(403);
          await asGet.arrayBuffer();
          const asPut = await putBytes(
            t,
            { url: signed.url, headers: { 'content-type': 'text/plain' } },
            bytes,
          );
          expect(asPut.status).toBe(403);
          await asPut.arrayBuffer();
        });

        it('tampered, expired or misdirected download URLs are 403; unknown variants 404', async () => {
          const { alice, roomId } = await owner();
          const ready = await upload(t, alice, roomId, {
            fileName: 'img.png',
            mimeType: 'image/png',
            bytes: await pngImage(20, 20),
          });
          const signed = expectOk(
            await t.api('GET', `/v1/attachments/${ready.id}/url`, { token: alice.token }),
          );
          const url: string = signed.url;
          const sig = new URL(url, t.baseUrl).searchParams.get('sig')!;
          const exp = Number(new URL(url, t.baseUrl).searchParams.get('exp'));
          const forbidden = [
            withParam(url, 'sig', (sig[0] === 'f' ? '0' : 'f') + sig.slice(1)),
            withParam(url, 'exp', String(exp + 1)),
            new UrlSigner(TEST_JWT_SECRET).sign('get', ready.id, 'original', Date.now() - 2000),
            url.replace('/original?', '/thumbnail?'), // signed for the original only
          ];
          for (const attempt of forbidden) {
            const r = await getRaw(t, attempt);
            const body = await json(r);
            expect({ attempt, status: r.status, code: body.error?.code }).toEqual({
              attempt,
              status: 403,
              code: 'FORBIDDEN',
            });
          }
          const odd = await getRaw(t, url.replace('/original?', '/secret?'));
          expect(odd.status).toBe(404);
          await odd.arrayBuffer();
          // The untouched URL still works.
          const good = await getRaw(t, url);
          expect(good.status).toBe(200);
          await good.arrayBuffer();
        });
      } else {
        it('tampered S3 URLs are refused by storage', async () => {
          const { alice, roomId } = await owner();
          const ready = await upload(t, alice, roomId, {
            fileName: 'a.txt',
            mimeType: 'text/plain',
            bytes: Buffer.from('abc'),
          });
          const signed = expectOk(
            await t.api('GET', `/v1/attachments/${ready.id}/url`, { token: alice.token }),
          );
          const sig = new URL(signed.url).searchParams.get('X-Amz-Signature')!;
          const bad = await fetch(
            withParam(signed.url, 'X-Amz-Signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1)),
          );
          expect(bad.status).toBe(403);
          await bad.arrayBuffer();
          // A download URL cannot be turned into an overwrite.
          const overwrite = await fetch(signed.url, {
            method: 'PUT',
            body: 'xyz',
            headers: { 'content-type': 'text/plain' },
          });
          expect(overwrite.status).toBe(403);
          await overwrite.arrayBuffer();
          expect(await (await fetch(signed.url)).text()).toBe('abc');
        });
      }
    });
  });
}

describe(`attachment server limits (${backend}, local)`, () => {
  let t: AttApp;
  beforeAll(async () => {
    t = await startAttApp(backend, 'local', undefined, { MAX_FILE_SIZE: '2048', MAX_PENDING_UPLOADS: '2' });
  });
  afterAll(() => t.close());

  it('MAX_FILE_SIZE caps every room, even one that asks for more', async () => {
    const [alice] = await newUsers(t, 1);
    const room = await t.newRoom(alice);
    expect(room.settings.maxFileSize).toBe(2048);
    // A room cannot ask for more than the server allows...
    expectError(
      await t.api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
        token: alice.token,
        body: { settings: { maxFileSize: 1_000_000 } },
      }),
      400,
      'VALIDATION_FAILED',
    );
    // ...but one that got more under an earlier, higher MAX_FILE_SIZE is still capped by today's.
    await t.sb.store.db
      .updateTable('rooms')
      .set({ settings: JSON.stringify({ ...room.settings, maxFileSize: 1_000_000 }) })
      .where('id', '=', room.roomId)
      .execute();
    const r = await declare(t, alice, room.roomId, { fileName: 'big', mimeType: 'text/plain', size: 2049 });
    expectError(r, 413, 'FILE_TOO_LARGE');
    expect(r.body.error.details).toEqual({ maxFileSize: 2048 });
    expectError(
      await uploadDirect(t, alice, room.roomId, 'big', 'text/plain', Buffer.alloc(4096, 65)),
      413,
      'FILE_TOO_LARGE',
    );
    const ok = expectOk(
      await declare(t, alice, room.roomId, { fileName: 'ok', mimeType: 'text/plain', size: 2048 }),
      201,
    );
    // Frees the quota for the next test.
    expectOk(
      await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/attachments/${ok.attachment.id}`, {
        token: alice.token,
      }),
    );
  });

  it('MAX_PENDING_UPLOADS: the third waiting upload is 429 until one is sent or deleted', async () => {
    const [alice, bob] = await newUsers(t, 2);
    const room = await t.newRoom(alice);
    await join(t, bob, room.roomId);
    const roomId = room.roomId;
    const first = await upload(t, alice, roomId, {
      fileName: '1.txt',
      mimeType: 'text/plain',
      bytes: Buffer.from('1'),
    });
    const second = await pending(t, alice, roomId);
    const r = await declare(t, alice, roomId, { fileName: '3.txt', mimeType: 'text/plain', size: 1 });
    expectError(r, 429, 'TOO_MANY_UPLOADS');
    expectError(
      await uploadDirect(t, alice, roomId, '3.txt', 'text/plain', Buffer.from('3')),
      429,
      'TOO_MANY_UPLOADS',
    );
    // The quota is per user.
    expectOk(await declare(t, bob, roomId, { fileName: 'b.txt', mimeType: 'text/plain', size: 1 }), 201);

    // Sending a message with one frees its slot.
    expectOk(await sendWith(t, alice, roomId, [first.id]), 201);
    const third = expectOk(
      await declare(t, alice, roomId, { fileName: '3.txt', mimeType: 'text/plain', size: 1 }),
      201,
    );
    expectError(
      await declare(t, alice, roomId, { fileName: '4.txt', mimeType: 'text/plain', size: 1 }),
      429,
      'TOO_MANY_UPLOADS',
    );
    // So does deleting one.
    expectOk(
      await t.api('DELETE', `/v1/chat/rooms/${roomId}/attachments/${second.attachment.id}`, {
        token: alice.token,
      }),
    );
    expectOk(await declare(t, alice, roomId, { fileName: '4.txt', mimeType: 'text/plain', size: 1 }), 201);
    expect(third.attachment.status).toBe('pending');
  });
});
