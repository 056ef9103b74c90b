import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from './helpers/backends.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

for (const backend of await availableBackends()) {
  describe(`smoke (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    it('registers, creates a room and sends', async () => {
      const alice = await t.newUser();
      const room = await t.newRoom(alice);
      const r = await t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
        token: alice.token,
        body: { content: 'hi' },
      });
      expect(r.status).toBe(201);
      expect(r.body.data.seq).toBe(3);
    });
  });
}
