import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startS3Server } from '../helpers/s3-server.js';
import { expectError, expectOk, history, join } from '../http/http-helpers.js';
import { newUsers } from '../realtime/ws-client.js';
import {
  type AttApp,
  attachmentRow,
  type BlobBackend,
  download,
  expectNoBlobs,
  keysOf,
  pending,
  pngImage,
  sendWith,
  startAttApp,
  storedBlobs,
  upload,
} from './attachment-helpers.js';

/**
 * Retention removes expired messages together with their files, and the same run removes uploads
 * no message used within a day. The services' clock is injected, so "two days later" is real to them.
 */

const DAY = 86_400_000;
const s3 = await startS3Server();
afterAll(() => s3.close());
const BLOBS: BlobBackend[] = ['local', 's3'];

for (const backend of await availableBackends()) {
  for (const blob of BLOBS) {
    describe(`attachment retention (${backend}, ${blob})`, () => {
      let t: AttApp;
      let offset = 0;
      const clock = () => Date.now() + offset;
      beforeAll(async () => {
        t = await startAttApp(backend, blob, s3, {}, { now: clock });
      });
      afterAll(() => t.close());

      it('expired messages lose their files; unsent uploads go after a day; the rest stays', async () => {
        const [alice, bob] = await newUsers(t, 2);
        const room = (await t.newRoom(alice, { settings: { messageRetention: 1 } })).roomId;
        const forever = (await t.newRoom(alice)).roomId;
        await join(t, bob, room);
        expect(t.sb.config.retentionIntervalMs).toBe(0); // only the explicit runs below

        // Day 0.
        const oldImg = await upload(t, alice, room, {
          fileName: 'old.png',
          mimeType: 'image/png',
          bytes: await pngImage(40, 40),
        });
        const oldMsg = expectOk(await sendWith(t, alice, room, [oldImg.id]), 201);
        const neverPut = await pending(t, alice, room);
        const neverSent = await upload(t, bob, room, {
          fileName: 'unsent.txt',
          mimeType: 'text/plain',
          bytes: Buffer.from('unsent'),
        });
        const keptFile = await upload(t, alice, forever, {
          fileName: 'kept.txt',
          mimeType: 'text/plain',
          bytes: Buffer.from('kept'),
        });
        const keptMsg = expectOk(await sendWith(t, alice, forever, [keptFile.id]), 201);
        expect(await storedBlobs(t, room, oldImg.id)).toHaveLength(2);
        expect(await storedBlobs(t, room, neverSent.id)).toHaveLength(1);

        // A run on day 0 changes nothing.
        expect(await t.sb.retention.run(clock())).toMatchObject({ messages: 0, files: 0 });

        // Two days later.
        offset = 2 * DAY;
        const freshImg = await upload(t, alice, room, {
          fileName: 'fresh.png',
          mimeType: 'image/png',
          bytes: await pngImage(20, 20),
        });
        const freshMsg = expectOk(await sendWith(t, alice, room, [freshImg.id]), 201);
        const freshPending = await pending(t, bob, room);

        const result = await t.sb.retention.run(clock());
        expect(result).toMatchObject({ messages: 1, files: 3 });

        // The expired message and its files are gone.
        expect((await history(t, bob, room)).map((m) => m.messageId)).toEqual([freshMsg.messageId]);
        expect(oldMsg.messageId).not.toBe(freshMsg.messageId);
        expectError(
          await t.api('GET', `/v1/attachments/${oldImg.id}`, { token: bob.token }),
          404,
          'ATTACHMENT_NOT_FOUND',
        );
        for (const id of [oldImg.id, neverPut.attachment.id, neverSent.id]) {
          expect(await attachmentRow(t, id)).toBeUndefined();
          await expectNoBlobs(t, room, id);
        }
        expectError(
          await t.api('GET', `/v1/attachments/${neverSent.id}/info`, { token: bob.token }),
          404,
          'ATTACHMENT_NOT_FOUND',
        );

        // Recent messages, recent uploads and rooms that keep everything are untouched.
        expect((await storedBlobs(t, room, freshImg.id)).sort()).toEqual(
          [keysOf(room, freshImg.id).original, keysOf(room, freshImg.id).thumbnail].sort(),
        );
        expect((await download(t, bob, `/v1/attachments/${freshImg.id}`)).res.status).toBe(200);
        expect((await attachmentRow(t, freshPending.attachment.id))?.deleted_at).toBeNull();
        expect((await history(t, alice, forever)).map((m) => m.messageId)).toEqual([keptMsg.messageId]);
        expect((await download(t, alice, `/v1/attachments/${keptFile.id}`)).bytes.toString()).toBe('kept');

        // Idempotent.
        expect(await t.sb.retention.run(clock())).toMatchObject({ messages: 0, files: 0 });
      });
    });
  }
}
