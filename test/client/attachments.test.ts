import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardError } from '../../src/client/index.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { ClientPool, FAST_ENV, loggedMessages, quickUsers, roomWith } from './client-helpers.js';

/** The SDK's upload(): signed URL over the socket, PUT, complete; then send and download. */
describe.each(['local', 's3'] as const)('client uploads (%s storage)', (storage) => {
  let t: TestApp;
  let s3: TestS3Server | undefined;
  const pool = new ClientPool();
  beforeAll(async () => {
    let env: Record<string, string> = { ...FAST_ENV };
    if (storage === 's3') {
      s3 = await startS3Server();
      env = {
        ...env,
        FILE_STORAGE: 's3',
        S3_BUCKET: s3.bucket,
        S3_ENDPOINT: s3.endpoint,
        S3_REGION: s3.region,
        S3_FORCE_PATH_STYLE: 'true',
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      };
    }
    t = await startTestApp('sqlite', env);
  });
  afterEach(() => pool.closeAll());
  afterAll(async () => {
    await t.close();
    await s3?.close();
  });

  it('uploads an image, sends it, and another member downloads the exact bytes and a thumbnail', async () => {
    const [alice, bob] = await quickUsers(t, 2);
    const roomId = await roomWith(t, alice, bob);
    const a = await pool.connect(t, alice);
    const b = await pool.connect(t, bob);
    const png = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#884422' } })
      .png()
      .toBuffer();

    const att = await a.client.upload(roomId, new Uint8Array(png), {
      fileName: 'photo.png',
      mimeType: 'image/png',
    });
    expect(att).toMatchObject({
      type: 'image',
      fileName: 'photo.png',
      fileSize: png.length,
      width: 640,
      height: 480,
    });
    expect(att.thumbnailUrl).toBeDefined();
    await a.client.send('', { roomId, attachments: [att.id] });

    const [msg] = await loggedMessages(t, bob, roomId);
    expect(msg).toMatchObject({ type: 'image', attachments: [expect.objectContaining({ id: att.id })] });

    const original = await fetch(await b.client.attachmentUrl(att.id));
    expect(original.status).toBe(200);
    expect(Buffer.from(await original.arrayBuffer()).equals(png)).toBe(true);
    const thumb = await fetch(await b.client.attachmentUrl(att.id, 'thumbnail'));
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 320, height: 240 });
  });

  it('a refused upload rejects with the server code', async () => {
    const [alice] = await quickUsers(t, 2);
    const roomId = await roomWith(t, alice);
    const a = await pool.connect(t, alice);
    const big = new Uint8Array(11 * 1024 * 1024);
    const err = await a.client
      .upload(roomId, big, { fileName: 'big.bin', mimeType: 'application/octet-stream' })
      .then(
        () => undefined,
        (e: unknown) => e as SwitchboardError,
      );
    expect(err).toBeInstanceOf(SwitchboardError);
    expect(err?.code).toBe('FILE_TOO_LARGE');
  });
});
