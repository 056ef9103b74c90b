import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startS3Server } from '../helpers/s3-server.js';
import type { TestUser } from '../helpers/test-app.js';
import { expectError, expectOk, history, join, setRole } from '../http/http-helpers.js';
import { closeAll, live, newUsers, type WsClient } from '../realtime/ws-client.js';
import {
  type AttApp,
  absolute,
  attachmentRow,
  type BlobBackend,
  complete,
  declare,
  download,
  expectNoBlobs,
  getRaw,
  json,
  keysOf,
  pending,
  pngImage,
  sendWith,
  startAttApp,
  storedBlobs,
  upload,
  uploadDirect,
} from './attachment-helpers.js';

/**
 * What a message may claim, who may read an attachment, deleting uploads, and the headers files are
 * served with. Runs on the first store backend (SQLite by default) with both blob backends.
 */

const s3 = await startS3Server();
afterAll(() => s3.close());
const backend = (await availableBackends())[0]!;
const BLOBS: BlobBackend[] = ['local', 's3'];

for (const blob of BLOBS) {
  describe(`attachment access (${backend}, ${blob})`, () => {
    let t: AttApp;
    const sockets: WsClient[] = [];
    beforeAll(async () => {
      t = await startAttApp(backend, blob, s3);
    });
    afterAll(async () => {
      await closeAll(sockets);
      await t.close();
    });

    const text = (user: TestUser, roomId: string, body = 'hello', fileName = 'note.txt') =>
      upload(t, user, roomId, { fileName, mimeType: 'text/plain', bytes: Buffer.from(body) });

    /** The four authenticated read routes of an attachment. */
    const readRoutes = (id: string) => [
      `/v1/attachments/${id}`,
      `/v1/attachments/${id}/thumbnail`,
      `/v1/attachments/${id}/url`,
      `/v1/attachments/${id}/info`,
    ];

    async function expectHidden(user: TestUser, id: string) {
      for (const route of readRoutes(id)) {
        const r = await t.api('GET', route, { token: user.token });
        expect({ route, status: r.status, code: r.body.error?.code }).toEqual({
          route,
          status: 404,
          code: 'ATTACHMENT_NOT_FOUND',
        });
      }
    }

    describe('sending rules', () => {
      it('refuses attachments of another user, another room, unknown, pending, or already sent', async () => {
        const [alice, bob] = await newUsers(t, 2);
        const room = (await t.newRoom(alice)).roomId;
        const elsewhere = (await t.newRoom(alice)).roomId;
        await join(t, bob, room);
        const bobs = await text(bob, room);
        const otherRoom = await text(alice, elsewhere);
        const waiting = await pending(t, alice, room);

        const r1 = await sendWith(t, alice, room, [bobs.id]);
        expectError(r1, 404, 'ATTACHMENT_NOT_FOUND');
        expectError(await sendWith(t, alice, room, [otherRoom.id]), 404, 'ATTACHMENT_NOT_FOUND');
        expectError(
          await sendWith(t, alice, room, ['att_0000000000000000000000']),
          404,
          'ATTACHMENT_NOT_FOUND',
        );
        expectError(await sendWith(t, alice, room, [waiting.attachment.id]), 409, 'UPLOAD_INCOMPLETE');

        const mine = await text(alice, room);
        const sent = expectOk(await sendWith(t, alice, room, [mine.id]), 201);
        expect(sent.type).toBe('file');
        const again = await sendWith(t, alice, room, [mine.id]);
        expectError(again, 409, 'CONFLICT');
        // Nothing was posted by the refused sends.
        expect((await history(t, alice, room)).map((m) => m.messageId)).toEqual([sent.messageId]);
        // Bob's own file still works for him; alice's attempt did not claim it.
        expectOk(await sendWith(t, bob, room, [bobs.id]), 201);
        expectOk(await sendWith(t, alice, elsewhere, [otherRoom.id]), 201);
      });

      it('a refused send claims none of its attachments', async () => {
        const [alice] = await newUsers(t, 1);
        const room = (await t.newRoom(alice)).roomId;
        const ready = await text(alice, room);
        const waiting = await pending(t, alice, room);
        expectError(
          await sendWith(t, alice, room, [ready.id, waiting.attachment.id]),
          409,
          'UPLOAD_INCOMPLETE',
        );
        expect((await attachmentRow(t, ready.id))?.message_id).toBeNull();
        const sent = expectOk(await sendWith(t, alice, room, [ready.id]), 201);
        expect((await attachmentRow(t, ready.id))?.message_id).toBe(sent.messageId);
      });

      it('the same id twice, or more than 10 ids, is 400; exactly 10 is fine and keeps their order', async () => {
        const [alice] = await newUsers(t, 1);
        const room = (await t.newRoom(alice)).roomId;
        const files = [];
        for (let i = 0; i < 10; i++) {
          files.push(
            expectOk(
              await uploadDirect(t, alice, room, `f${i}.txt`, 'text/plain', Buffer.from(`#${i}`)),
              201,
            ),
          );
        }
        const ids = files.map((f) => f.id as string);
        expectError(await sendWith(t, alice, room, [ids[0]!, ids[0]!]), 400, 'VALIDATION_FAILED');
        expectError(
          await sendWith(t, alice, room, [...ids, 'att_0000000000000000000001']),
          400,
          'VALIDATION_FAILED',
        );
        const reversed = [...ids].reverse();
        const sent = expectOk(await sendWith(t, alice, room, reversed, { content: 'ten files' }), 201);
        expect(sent.attachments.map((a: any) => a.id)).toEqual(reversed);
        expect(sent.attachments.map((a: any) => a.fileName)).toEqual(reversed.map((_, i) => `f${9 - i}.txt`));
      });

      it('a retried send (same clientMsgId) returns the stored message instead of failing on its claimed attachment', async () => {
        const [alice, bob] = await newUsers(t, 2);
        const room = (await t.newRoom(alice)).roomId;
        await join(t, bob, room);
        const img = await upload(t, alice, room, {
          fileName: 'p.png',
          mimeType: 'image/png',
          bytes: await pngImage(30, 30),
        });
        const first = expectOk(await sendWith(t, alice, room, [img.id], { clientMsgId: 'retry-1' }), 201);
        const retry = await sendWith(t, alice, room, [img.id], { clientMsgId: 'retry-1' });
        const again = expectOk(retry, 200);
        expect(again.duplicate).toBe(true);
        expect(again.messageId).toBe(first.messageId);
        expect(again.attachments).toEqual(first.attachments);
        // The same over WebSocket.
        const ws = await live(t, alice);
        sockets.push(ws);
        const ack = await ws.request({
          type: 'send_message',
          roomId: room,
          content: '',
          clientMsgId: 'retry-1',
          attachments: [img.id],
        });
        expect(ack).toMatchObject({ type: 'ack', duplicate: true, messageId: first.messageId });
        expect((await history(t, bob, room)).filter((m) => m.type === 'image')).toHaveLength(1);
        // A new key with the claimed attachment is a conflict.
        expectError(await sendWith(t, alice, room, [img.id], { clientMsgId: 'retry-2' }), 409, 'CONFLICT');
      });
    });

    describe('who may read', () => {
      it('outsiders of a private room get 404 everywhere; members read; leaving ends it', async () => {
        const [alice, bob, carol] = await newUsers(t, 3);
        const room = (await t.newRoom(alice, { type: 'private' })).roomId;
        expectOk(
          await t.api('POST', `/v1/chat/rooms/${room}/invite`, {
            token: alice.token,
            body: { userIds: [bob.userId] },
          }),
        );
        const png = await pngImage(64, 64);
        const img = await upload(t, alice, room, {
          fileName: 'secret.png',
          mimeType: 'image/png',
          bytes: png,
        });
        expectOk(await sendWith(t, alice, room, [img.id]), 201);

        await expectHidden(carol, img.id);
        const ws = await live(t, carol);
        sockets.push(ws);
        for (const variant of ['original', 'thumbnail']) {
          const f = await ws.request({ type: 'download_request', attachmentId: img.id, variant });
          expect(f).toMatchObject({ type: 'error', code: 'ATTACHMENT_NOT_FOUND' });
        }

        const got = await download(t, bob, `/v1/attachments/${img.id}`);
        expect(got.bytes.equals(png)).toBe(true);
        expectOk(await t.api('DELETE', `/v1/chat/rooms/${room}/leave`, { token: bob.token }));
        await expectHidden(bob, img.id);
      });

      it('a public room is readable by non-members; a banned user gets 404', async () => {
        const [alice, bob, dave] = await newUsers(t, 3);
        const room = (await t.newRoom(alice)).roomId;
        await join(t, bob, room);
        const png = await pngImage(40, 20);
        const img = await upload(t, alice, room, { fileName: 'open.png', mimeType: 'image/png', bytes: png });
        expectOk(await sendWith(t, alice, room, [img.id]), 201);

        // dave never joined: public rooms are readable, so are their files (as the code decides).
        expect(
          expectOk(await t.api('GET', `/v1/attachments/${img.id}/info`, { token: dave.token })),
        ).toMatchObject({
          id: img.id,
          status: 'ready',
        });
        const got = await download(t, dave, `/v1/attachments/${img.id}`);
        expect(got.bytes.equals(png)).toBe(true);
        expect((await download(t, dave, `/v1/attachments/${img.id}/thumbnail`)).res.status).toBe(200);

        // ...but he cannot upload there without joining.
        expectError(
          await declare(t, dave, room, { fileName: 'x.txt', mimeType: 'text/plain', size: 1 }),
          403,
          'NOT_A_MEMBER',
        );

        for (const banned of [bob, dave]) {
          expectOk(
            await t.api('POST', `/v1/chat/rooms/${room}/bans`, {
              token: alice.token,
              body: { userId: banned.userId },
            }),
          );
          await expectHidden(banned, img.id);
          expectError(
            await declare(t, banned, room, { fileName: 'x.txt', mimeType: 'text/plain', size: 1 }),
            403,
            'BANNED',
          );
        }
      });

      it("another user cannot see, complete or delete someone's unsent upload", async () => {
        const [alice, bob] = await newUsers(t, 2);
        const room = (await t.newRoom(alice)).roomId;
        await join(t, bob, room);
        const waiting = await pending(t, alice, room);
        const ready = await text(alice, room);
        for (const id of [waiting.attachment.id, ready.id]) {
          await expectHidden(bob, id);
          expectError(await complete(t, bob, room, id), 404, 'ATTACHMENT_NOT_FOUND');
          expectError(
            await t.api('DELETE', `/v1/chat/rooms/${room}/attachments/${id}`, { token: bob.token }),
            404,
            'ATTACHMENT_NOT_FOUND',
          );
          // The uploader still sees it.
          expectOk(await t.api('GET', `/v1/attachments/${id}/info`, { token: alice.token }));
        }
        expect((await attachmentRow(t, ready.id))?.deleted_at).toBeNull();
        // Not even through a room id that matches.
        expectError(
          await complete(t, alice, (await t.newRoom(alice)).roomId, ready.id),
          404,
          'ATTACHMENT_NOT_FOUND',
        );
      });

      it('every authenticated route answers 401 without a token (or with a bad one); signed file URLs need none', async () => {
        const [alice] = await newUsers(t, 1);
        const room = (await t.newRoom(alice)).roomId;
        const ready = await text(alice, room, 'public bytes');
        const routes: [string, string, unknown?][] = [
          ['POST', `/v1/chat/rooms/${room}/attachments`, { fileName: 'a', mimeType: 'text/plain', size: 1 }],
          ['POST', `/v1/chat/rooms/${room}/attachments/${ready.id}/complete`],
          ['DELETE', `/v1/chat/rooms/${room}/attachments/${ready.id}`],
          ['GET', `/v1/attachments/${ready.id}`],
          ['GET', `/v1/attachments/${ready.id}/thumbnail`],
          ['GET', `/v1/attachments/${ready.id}/url`],
          ['GET', `/v1/attachments/${ready.id}/info`],
          ['POST', `/v1/chat/rooms/${room}/messages`, { content: '', attachments: [ready.id] }],
        ];
        for (const [method, route, body] of routes) {
          for (const token of [undefined, 'not-a-jwt']) {
            const r = await t.api(method, route, { token, body });
            expect({ method, route, status: r.status }).toEqual({ method, route, status: 401 });
          }
        }
        const direct = await uploadDirect(t, undefined, room, 'a.txt', 'text/plain', Buffer.from('a'));
        expectError(direct, 401, 'UNAUTHENTICATED');
        // Nothing changed.
        expect((await attachmentRow(t, ready.id))?.message_id).toBeNull();

        const signed = expectOk(
          await t.api('GET', `/v1/attachments/${ready.id}/url`, { token: alice.token }),
        );
        const res = await fetch(absolute(t, signed.url));
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('public bytes');
      });
    });

    describe('deletion', () => {
      it('DELETE of an unsent upload (pending or ready) removes it and its files; of a sent one is 409', async () => {
        const [alice, bob] = await newUsers(t, 2);
        const room = (await t.newRoom(alice)).roomId;
        await join(t, bob, room);
        const waiting = await pending(t, alice, room);
        const img = await upload(t, alice, room, {
          fileName: 'x.png',
          mimeType: 'image/png',
          bytes: await pngImage(30, 10),
        });
        const sentFile = await text(alice, room, 'kept');
        expectOk(await sendWith(t, alice, room, [sentFile.id]), 201);
        expect(await storedBlobs(t, room, img.id)).toHaveLength(2);

        for (const id of [waiting.attachment.id, img.id]) {
          const r = await t.api('DELETE', `/v1/chat/rooms/${room}/attachments/${id}`, { token: alice.token });
          expect(expectOk(r)).toEqual({ deleted: true });
          expectError(
            await t.api('GET', `/v1/attachments/${id}/info`, { token: alice.token }),
            404,
            'ATTACHMENT_NOT_FOUND',
          );
          expect(await attachmentRow(t, id)).toBeUndefined();
          await expectNoBlobs(t, room, id);
          if (t.filesDir) expect(existsSync(path.join(t.filesDir, keysOf(room, id).dir))).toBe(false);
          // Twice is not found.
          expectError(
            await t.api('DELETE', `/v1/chat/rooms/${room}/attachments/${id}`, { token: alice.token }),
            404,
            'ATTACHMENT_NOT_FOUND',
          );
        }

        expectError(
          await t.api('DELETE', `/v1/chat/rooms/${room}/attachments/${sentFile.id}`, { token: alice.token }),
          409,
          'CONFLICT',
        );
        const still = await download(t, bob, `/v1/attachments/${sentFile.id}`);
        expect(still.bytes.toString()).toBe('kept');
        expect(await storedBlobs(t, room, sentFile.id)).toEqual([keysOf(room, sentFile.id).original]);
      });

      it("a moderator deleting someone's message removes its files too", async () => {
        const [alice, bob] = await newUsers(t, 2);
        const room = (await t.newRoom(alice)).roomId;
        await join(t, bob, room);
        await setRole(t, alice, room, bob, 'moderator');
        const [carol] = await newUsers(t, 1);
        await join(t, carol, room);
        const img = await upload(t, carol, room, {
          fileName: 'c.png',
          mimeType: 'image/png',
          bytes: await pngImage(12, 12),
        });
        const sent = expectOk(await sendWith(t, carol, room, [img.id]), 201);
        expectOk(
          await t.api('DELETE', `/v1/chat/rooms/${room}/messages/${sent.messageId}`, { token: bob.token }),
        );
        await expectHidden(carol, img.id);
        await expectNoBlobs(t, room, img.id);
        expect(await attachmentRow(t, img.id)).toBeUndefined();
      });
    });

    describe('served files', () => {
      it('HTML and SVG download as attachments; raster images show inline; all with nosniff and a sandbox CSP', async () => {
        const [alice] = await newUsers(t, 1);
        const room = (await t.newRoom(alice)).roomId;
        const html = Buffer.from('<!doctype html><script>alert(document.cookie)</script>');
        const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
        const png = await pngImage(16, 16);
        const page = await upload(t, alice, room, {
          fileName: 'page.html',
          mimeType: 'text/html',
          bytes: html,
        });
        const vector = await upload(t, alice, room, {
          fileName: 'logo.svg',
          mimeType: 'image/svg+xml',
          bytes: svg,
        });
        const raster = await upload(t, alice, room, {
          fileName: 'pic.png',
          mimeType: 'image/png',
          bytes: png,
        });
        expect(vector.type).toBe('file');
        expect(vector.thumbnailUrl).toBeUndefined();
        expectOk(await sendWith(t, alice, room, [page.id, vector.id, raster.id]), 201);

        const pageGot = await download(t, alice, `/v1/attachments/${page.id}`);
        expect(pageGot.bytes.equals(html)).toBe(true);
        expect(pageGot.res.headers.get('content-disposition')).toMatch(/^attachment; filename="page\.html"/);
        const svgGot = await download(t, alice, `/v1/attachments/${vector.id}`);
        expect(svgGot.res.headers.get('content-disposition')).toMatch(/^attachment; filename="logo\.svg"/);
        if (blob === 'local') {
          for (const got of [pageGot, svgGot]) {
            expect(got.res.headers.get('x-content-type-options')).toBe('nosniff');
            const csp = got.res.headers.get('content-security-policy') ?? '';
            expect(csp).toContain('sandbox');
            expect(csp).toContain("default-src 'none'");
          }
          expect(pageGot.res.headers.get('content-type')).toBe('text/html');
          const pngGot = await download(t, alice, `/v1/attachments/${raster.id}`);
          expect(pngGot.res.headers.get('content-disposition')).toMatch(/^inline; filename="pic\.png"/);
          expect(pngGot.res.headers.get('x-content-type-options')).toBe('nosniff');
          expect(pngGot.res.headers.get('content-security-policy')).toContain('sandbox');
          const thumb = await download(t, alice, `/v1/attachments/${raster.id}/thumbnail`);
          expect(thumb.res.headers.get('content-disposition')).toMatch(/^inline; /);
          expect(thumb.res.headers.get('content-type')).toBe('image/webp');
        }
      });

      it('names with quotes and non-ASCII characters get an ASCII fallback plus filename*', async () => {
        const [alice] = await newUsers(t, 1);
        const room = (await t.newRoom(alice)).roomId;
        const name = 'résumé "final".txt';
        const f = await upload(t, alice, room, {
          fileName: name,
          mimeType: 'text/plain',
          bytes: Buffer.from('cv'),
        });
        expect(f.fileName).toBe(name);
        expectOk(await sendWith(t, alice, room, [f.id]), 201);
        const got = await download(t, alice, `/v1/attachments/${f.id}`);
        const disposition = got.res.headers.get('content-disposition') ?? '';
        expect(disposition).toMatch(/^attachment; filename="r_sum_ _final_\.txt"; filename\*=UTF-8''/);
        const encoded = /filename\*=UTF-8''(.+)$/.exec(disposition)![1]!;
        expect(decodeURIComponent(encoded)).toBe(name);
      });
    });

    it('an unsent upload is readable by its uploader before sending (preview)', async () => {
      const [alice] = await newUsers(t, 1);
      const room = (await t.newRoom(alice)).roomId;
      const f = await text(alice, room, 'draft');
      const res = await getRaw(t, `/v1/attachments/${f.id}`, alice.token);
      expect(res.status).toBe(302);
      const body = await fetch(absolute(t, res.headers.get('location')!));
      expect(await body.text()).toBe('draft');
      const info = await json(await getRaw(t, `/v1/attachments/${f.id}/info`, alice.token));
      expect(info.data).toMatchObject({ status: 'ready', messageId: null });
    });
  });
}
