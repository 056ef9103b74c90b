import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../ai/ai-helpers.js';
import { availableBackends } from '../helpers/backends.js';
import { expectError, expectOk, send } from '../http/http-helpers.js';
import {
  accepted,
  type BridgeHarness,
  conversationOf,
  postTelegram,
  roomHistory,
  staffIn,
  startBridgeApp,
} from './bridge-helpers.js';
import { telegramUpdate } from './fake-platforms.js';

let chat = -100_000;
const newChat = () => chat--;

/**
 * The Telegram bridge end to end: updates posted to the webhook as Telegram posts them (secret
 * token header), replies sent to a local server speaking the Bot API, failures it scripts.
 */
for (const backend of await availableBackends()) {
  describe(`Telegram bridge (${backend})`, () => {
    let h: BridgeHarness;
    beforeAll(async () => {
      h = await startBridgeApp(backend, { MAX_MESSAGE_LENGTH: '10000' });
    });
    afterAll(() => h.close());

    it('a first message opens a private room owned by the bridge, with the sender as a member; a redelivery adds nothing', async () => {
      const { t, admin } = h;
      const chatId = newChat();
      const update = telegramUpdate({
        chatId,
        fromId: 4242,
        firstName: 'Tess',
        chatTitle: 'Support group',
        text: 'hello from telegram',
      });
      expect((await postTelegram(t, update)).body).toEqual({ ok: true });
      expect((await postTelegram(t, update)).status).toBe(200);

      const conv = await conversationOf(t, admin, 'telegram', String(chatId));
      expect(conv).toMatchObject({ platform: 'telegram', title: 'Support group' });
      const roomId = await staffIn(t, admin, conv.conversationId);
      const room = expectOk(await t.api('GET', `/v1/chat/rooms/${roomId}`, { token: admin.token }));
      expect(room).toMatchObject({
        type: 'private',
        name: 'Telegram: Support group',
        createdBy: t.sb.bridges.service.bot.userId,
      });
      const msgs = (await roomHistory(t, admin, roomId)).filter((m) => m.type === 'text');
      expect(msgs).toHaveLength(1);
      expect(msgs[0]).toMatchObject({
        content: 'hello from telegram',
        authorName: 'Tess',
        metadata: {
          bridge: {
            platform: 'telegram',
            conversationId: conv.conversationId,
            externalMessageId: String(update.message.message_id),
          },
        },
      });
      const author = expectOk(await t.api('GET', `/v1/users/${msgs[0].authorId}`, { token: admin.token }));
      expect(author).toMatchObject({ displayName: 'Tess', isBot: false });
      expect(author.username).toMatch(/^tg-tess/);
      // The sender's own message is not sent back to Telegram.
      await new Promise((r) => setTimeout(r, 300));
      expect(
        h.fake.of('telegram', 'sendMessage').filter((r) => r.body.chat_id === String(chatId)),
      ).toHaveLength(0);
    });

    it('refuses updates without the secret token, and bodies that are not updates', async () => {
      const { t } = h;
      const update = telegramUpdate({ chatId: newChat(), fromId: 1, text: 'forged' });
      expectError(await postTelegram(t, update, 'wrong-secret-0123456789'), 401, 'INVALID_SIGNATURE');
      expectError(
        await t.api('POST', '/v1/bridges/telegram/webhook', { body: update }),
        401,
        'INVALID_SIGNATURE',
      );
      expectError(await postTelegram(t, { hello: 'world' }), 400, 'VALIDATION_FAILED');
      expectError(await postTelegram(t, '{not json'), 400, 'MALFORMED_JSON');
      const convs = expectOk(
        await t.api('GET', '/v1/admin/bridges/conversations?platform=telegram&limit=200', {
          token: h.admin.token,
        }),
      );
      expect(convs.conversations.map((c: any) => c.externalId)).not.toContain(String(update.message.chat.id));
    });

    it('ignores updates with nothing to bring in: other bots, edits, callbacks, service messages', async () => {
      const { t, admin } = h;
      const chatId = newChat();
      const fromBot = telegramUpdate({ chatId, fromId: 77, text: 'beep' });
      (fromBot.message.from as any).is_bot = true;
      expect((await postTelegram(t, fromBot)).status).toBe(200);
      expect((await postTelegram(t, { update_id: 1, edited_message: fromBot.message })).status).toBe(200);
      expect((await postTelegram(t, { update_id: 2, callback_query: { id: 'q', data: 'x' } })).status).toBe(
        200,
      );
      const joined = telegramUpdate({ chatId, fromId: 78, text: 'x' });
      delete (joined.message as any).text;
      (joined.message as any).new_chat_members = [{ id: 79, is_bot: false, first_name: 'N' }];
      expect((await postTelegram(t, joined)).status).toBe(200);
      await expect(conversationOf(t, admin, 'telegram', String(chatId))).rejects.toThrow(
        /no telegram conversation/,
      );
    });

    it('a photo with a caption comes in as its caption; without one, as [photo]', async () => {
      const { t, admin } = h;
      const chatId = newChat();
      const withCaption = telegramUpdate({ chatId, fromId: 90, text: 'x' });
      delete (withCaption.message as any).text;
      Object.assign(withCaption.message, {
        photo: [{ file_id: 'f', width: 1, height: 1 }],
        caption: 'look at this',
      });
      const bare = telegramUpdate({ chatId, fromId: 90, text: 'x' });
      delete (bare.message as any).text;
      Object.assign(bare.message, { photo: [{ file_id: 'g', width: 1, height: 1 }] });
      expect((await postTelegram(t, withCaption)).status).toBe(200);
      expect((await postTelegram(t, bare)).status).toBe(200);
      const conv = await conversationOf(t, admin, 'telegram', String(chatId));
      const roomId = await staffIn(t, admin, conv.conversationId);
      const texts = (await roomHistory(t, admin, roomId))
        .filter((m) => m.type === 'text')
        .map((m) => m.content);
      expect(texts).toEqual(['look at this', '[photo]']);
    });

    it("a staff reply goes out as sendMessage replying to the user's message; the user's answer to it replies in Switchboard", async () => {
      const { t, admin, fake } = h;
      const chatId = newChat();
      const first = telegramUpdate({ chatId, fromId: 5150, firstName: 'Ulla', text: 'is anyone there?' });
      accepted(await postTelegram(t, first));
      const conv = await conversationOf(t, admin, 'telegram', String(chatId));
      const roomId = await staffIn(t, admin, conv.conversationId);
      const [theirs] = (await roomHistory(t, admin, roomId)).filter((m) => m.type === 'text');

      const reply = await send(t, admin, roomId, 'Yes, how can I help?', { replyTo: theirs.messageId });
      const [out] = await fake.waitFor('sendMessage', () =>
        fake.of('telegram', 'sendMessage').some((r) => r.body.chat_id === String(chatId)),
      );
      const sent = fake.of('telegram', 'sendMessage').filter((r) => r.body.chat_id === String(chatId));
      expect(sent).toHaveLength(1);
      expect(sent[0]!.body).toEqual({
        chat_id: String(chatId),
        text: expect.stringMatching(/: Yes, how can I help\?$/),
        reply_parameters: { message_id: first.message.message_id, allow_sending_without_reply: true },
      });
      expect(out).toBeDefined();
      await eventually('outbox row sent', async () =>
        (await t.sb.bridges.repo.outboxOfMessage(reply.messageId)).every((r) => r.status === 'sent'),
      );

      // Telegram's id for our message (from the fake's answer) maps back to it.
      const ourTelegramId = (await t.sb.bridges.repo.externalIdFor(conv.conversationId, reply.messageId))!;
      expect(ourTelegramId).toMatch(/^\d+$/);
      accepted(
        await postTelegram(
          t,
          telegramUpdate({ chatId, fromId: 5150, text: 'thanks!', replyTo: Number(ourTelegramId) }),
        ),
      );
      const msgs = await roomHistory(t, admin, roomId);
      expect(msgs.at(-1)).toMatchObject({ content: 'thanks!', replyTo: reply.messageId });
    });

    it('waits out a 429 retry_after and retries; the message goes out once', async () => {
      const { t, admin, fake } = h;
      const chatId = newChat();
      accepted(await postTelegram(t, telegramUpdate({ chatId, fromId: 6000, text: 'hi' })));
      const conv = await conversationOf(t, admin, 'telegram', String(chatId));
      const roomId = await staffIn(t, admin, conv.conversationId);
      fake.script('sendMessage', {
        status: 429,
        body: {
          ok: false,
          error_code: 429,
          description: 'Too Many Requests: retry after 1',
          parameters: { retry_after: 1 },
        },
      });
      const msg = await send(t, admin, roomId, 'after the rate limit');
      await eventually('delivered after retry', async () =>
        (await t.sb.bridges.repo.outboxOfMessage(msg.messageId)).some((r) => r.status === 'sent'),
      );
      const attempts = fake.of('telegram', 'sendMessage').filter((r) => r.body.chat_id === String(chatId));
      expect(attempts).toHaveLength(2);
      const [row] = await t.sb.bridges.repo.outboxOfMessage(msg.messageId);
      expect(row).toMatchObject({ status: 'sent', attempts: 2 });
    });

    it('a permanent error (bot removed from the chat) fails the message at once, without retries', async () => {
      const { t, admin, fake } = h;
      const chatId = newChat();
      accepted(await postTelegram(t, telegramUpdate({ chatId, fromId: 6001, text: 'hi' })));
      const conv = await conversationOf(t, admin, 'telegram', String(chatId));
      const roomId = await staffIn(t, admin, conv.conversationId);
      fake.script('sendMessage', {
        status: 403,
        body: { ok: false, error_code: 403, description: 'Forbidden: bot was kicked from the group chat' },
      });
      const msg = await send(t, admin, roomId, 'nobody will read this');
      await eventually('failed', async () =>
        (await t.sb.bridges.repo.outboxOfMessage(msg.messageId)).some((r) => r.status === 'failed'),
      );
      const [row] = await t.sb.bridges.repo.outboxOfMessage(msg.messageId);
      expect(row!.last_error).toContain('bot was kicked');
      expect(row!.attempts).toBe(1);
      expect(
        fake.of('telegram', 'sendMessage').filter((r) => r.body.chat_id === String(chatId)),
      ).toHaveLength(1);
    });

    it('splits a message longer than 4096 characters into parts, in order', async () => {
      const { t, admin, fake } = h;
      const chatId = newChat();
      accepted(await postTelegram(t, telegramUpdate({ chatId, fromId: 6002, text: 'long one please' })));
      const conv = await conversationOf(t, admin, 'telegram', String(chatId));
      const roomId = await staffIn(t, admin, conv.conversationId);
      const words = Array.from({ length: 900 }, (_, i) => `word${i}`).join(' ');
      expect(words.length).toBeGreaterThan(4096);
      await send(t, admin, roomId, words);
      await fake.waitFor(
        'two parts',
        () =>
          fake.of('telegram', 'sendMessage').filter((r) => r.body.chat_id === String(chatId)).length === 2,
      );
      const parts = fake
        .of('telegram', 'sendMessage')
        .filter((r) => r.body.chat_id === String(chatId))
        .map((r) => r.body.text as string);
      expect(parts.every((p) => p.length <= 4096)).toBe(true);
      expect(parts.join(' ')).toContain('word0 ');
      expect(parts[1]!.endsWith('word899')).toBe(true);
    });
  });
}
