import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { sleep } from '../helpers/fake-ai-servers/index.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { expectOk, send, setRole } from '../http/http-helpers.js';
import { type AiHarness, aiRoom, eventually, fromBot, roomMessages, startAiApp } from './ai-helpers.js';

/** `settings.aiAutoReply`: every member's message is a question; the room's staff still mention the bot. */
for (const backend of await availableBackends()) {
  describe(`aiAutoReply (${backend})`, () => {
    let h: AiHarness;
    beforeAll(async () => {
      h = await startAiApp(backend);
    });
    afterAll(() => h.close());

    it("answers members' messages without a mention, but not a moderator's unless mentioned", async () => {
      const { t, anthropic, bot } = h;
      const owner = await t.newUser();
      const member = await t.newUser();
      const mod = await t.newUser();
      const room = await aiRoom(t, owner, { aiAutoReply: true });
      expect(room.settings).toMatchObject({ enableAI: true, aiAutoReply: true });
      for (const u of [member, mod])
        expectOk(await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: u.token }));
      await setRole(t, owner, room.roomId, mod, 'moderator');

      anthropic.script({ kind: 'answer', chunks: ['answer one'] });
      const q = await send(t, member, room.roomId, 'what time is it');
      await eventually('answer to the member', async () =>
        fromBot(await roomMessages(t, owner, room.roomId), bot.userId).some((m) => m.replyTo === q.messageId),
      );

      const before = anthropic.requests.length;
      await send(t, mod, room.roomId, 'I can help with that');
      await send(t, owner, room.roomId, 'thanks everyone');
      await sleep(400);
      expect(anthropic.requests.length).toBe(before);

      anthropic.script({ kind: 'answer', chunks: ['answer two'] });
      const asked = await send(t, mod, room.roomId, '@ai summarise the policy');
      await eventually('answer to the mention', async () =>
        fromBot(await roomMessages(t, owner, room.roomId), bot.userId).some(
          (m) => m.replyTo === asked.messageId,
        ),
      );
    });

    it('without aiAutoReply, a member still needs a mention', async () => {
      const { t, anthropic } = h;
      const owner = await t.newUser();
      const room = await aiRoom(t, owner);
      const before = anthropic.requests.length;
      await send(t, owner, room.roomId, 'no question here');
      await sleep(300);
      expect(anthropic.requests.length).toBe(before);
    });
  });

  describe(`aiAutoReply without a provider (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    it('stays silent instead of posting "not configured" under every message', async () => {
      const owner = await t.newUser();
      const member = await t.newUser();
      const room = await t.newRoom(owner, { settings: { enableAI: true, aiAutoReply: true } });
      expectOk(await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: member.token }));
      await send(t, member, room.roomId, 'hello?');
      await sleep(300);
      const msgs = expectOk(
        await t.api('GET', `/v1/chat/rooms/${room.roomId}/messages`, { token: owner.token }),
      ).messages;
      expect(msgs.filter((m: any) => m.authorId === t.sb.ai.bot.userId)).toEqual([]);
      // A mention still gets the notice, so people learn why nothing answers.
      await send(t, member, room.roomId, '@ai are you there?');
      await eventually('notice', async () =>
        expectOk(
          await t.api('GET', `/v1/chat/rooms/${room.roomId}/messages`, { token: owner.token }),
        ).messages.some(
          (m: any) => m.authorId === t.sb.ai.bot.userId && m.metadata?.ai?.status === 'not_configured',
        ),
      );
    });
  });
}
