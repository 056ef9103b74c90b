import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_KEY, eventually, lastUserText } from '../ai/ai-helpers.js';
import { availableBackends, PG_URL, randomSchema } from '../helpers/backends.js';
import { type FakeAiServer, startFakeAnthropic } from '../helpers/fake-ai-servers/index.js';
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
import { type FakePlatforms, startFakePlatforms, telegramUpdate } from './fake-platforms.js';

let chat = -200_000 - process.pid;
const newChat = () => chat--;

/**
 * Conversations across bridges and time: the AI answers every platform message and its answer goes
 * out; a 24 h session bounds the AI's context; linking rooms; an outgoing message committed while
 * no relay ran (a crash) still goes out after a restart.
 */
for (const backend of await availableBackends()) {
  describe(`bridged conversations (${backend})`, () => {
    let h: BridgeHarness;
    let anthropic: FakeAiServer;
    let clock = Date.now();
    beforeAll(async () => {
      anthropic = await startFakeAnthropic(ANTHROPIC_KEY);
      h = await startBridgeApp(
        backend,
        {
          AI_PROVIDERS: 'anthropic',
          ANTHROPIC_API_KEY: ANTHROPIC_KEY,
          ANTHROPIC_BASE_URL: anthropic.baseUrl,
          ANTHROPIC_MODEL: 'claude-test',
          AI_STREAM_INTERVAL_MS: '20',
          AI_RETRY_BACKOFF_MS: '0',
          BRIDGE_AI_REPLIES: 'all',
        },
        { now: () => clock },
      );
    });
    afterAll(async () => {
      await h.close();
      await anthropic.close();
    });

    it("the assistant answers a platform message without being mentioned, and its answer goes back to the chat as the bot's own words", async () => {
      const { t, admin, fake } = h;
      const chatId = newChat();
      anthropic.script({ kind: 'answer', chunks: ['Opening hours ', 'are 9 to 5.'] });
      const update = telegramUpdate({ chatId, fromId: 7001, firstName: 'Vera', text: 'when are you open?' });
      accepted(await postTelegram(t, update));
      await fake.waitFor('AI answer out', () =>
        fake.of('telegram', 'sendMessage').some((r) => r.body.chat_id === String(chatId)),
      );
      const out = fake.of('telegram', 'sendMessage').filter((r) => r.body.chat_id === String(chatId));
      expect(out).toHaveLength(1);
      expect(out[0]!.body).toMatchObject({
        text: 'Opening hours are 9 to 5.',
        reply_parameters: { message_id: update.message.message_id },
      });
      const conv = await conversationOf(t, admin, 'telegram', String(chatId));
      const roomId = await staffIn(t, admin, conv.conversationId);
      const room = expectOk(await t.api('GET', `/v1/chat/rooms/${roomId}`, { token: admin.token }));
      expect(room.settings).toMatchObject({ enableAI: true, aiAutoReply: true });
    });

    it("a conversation's AI session lasts 24 h: after that, older messages are no longer the assistant's context", async () => {
      const { t, admin } = h;
      const chatId = newChat();
      anthropic.script({ kind: 'answer', chunks: ['first answer'] });
      accepted(
        await postTelegram(
          t,
          telegramUpdate({ chatId, fromId: 7002, text: 'my name is Quentin, remember it' }),
        ),
      );
      const conv = await conversationOf(t, admin, 'telegram', String(chatId));
      const roomId = await staffIn(t, admin, conv.conversationId);
      await eventually('first answer', async () =>
        (await roomHistory(t, admin, roomId)).some((m) => m.type === 'ai_response'),
      );

      // Within the session the earlier message is context.
      anthropic.script({ kind: 'answer', chunks: ['second answer'] });
      accepted(await postTelegram(t, telegramUpdate({ chatId, fromId: 7002, text: 'what did I say?' })));
      await eventually(
        'second answer',
        async () =>
          (await roomHistory(t, admin, roomId)).filter((m) => m.type === 'ai_response').length === 2,
      );
      expect(JSON.stringify(anthropic.lastRequest!.body)).toContain('my name is Quentin');

      clock += 25 * 60 * 60 * 1000;
      anthropic.script({ kind: 'answer', chunks: ['third answer'] });
      accepted(await postTelegram(t, telegramUpdate({ chatId, fromId: 7002, text: 'and now?' })));
      await eventually(
        'third answer',
        async () =>
          (await roomHistory(t, admin, roomId)).filter((m) => m.type === 'ai_response').length === 3,
      );
      const prompt = JSON.stringify(anthropic.lastRequest!.body);
      expect(lastUserText(anthropic.lastRequest)).toContain('and now?');
      expect(prompt).not.toContain('my name is Quentin');
      const after = await conversationOf(t, admin, 'telegram', String(chatId));
      expect(Date.parse(after.sessionStartedAt)).toBe(clock);
    });

    it('admins link a platform conversation to an existing room; its messages arrive there', async () => {
      const { t, admin } = h;
      const owner = await t.newUser();
      const room = await t.newRoom(owner, { type: 'private', name: 'Escalations' });
      const chatId = newChat();
      const linked = expectOk(
        await t.api('POST', '/v1/admin/bridges/conversations', {
          token: admin.token,
          body: {
            platform: 'telegram',
            externalId: String(chatId),
            roomId: room.roomId,
            title: 'Escalations chat',
          },
        }),
        201,
      );
      expect(linked).toMatchObject({ platform: 'telegram', roomId: room.roomId });
      expectError(
        await t.api('POST', '/v1/admin/bridges/conversations', {
          token: admin.token,
          body: { platform: 'telegram', externalId: String(chatId), roomId: room.roomId },
        }),
        409,
        'CONFLICT',
      );
      expectError(
        await t.api('POST', '/v1/admin/bridges/conversations', {
          token: admin.token,
          body: { platform: 'telegram', externalId: 'x', roomId: 'room_missing000000000000' },
        }),
        404,
        'ROOM_NOT_FOUND',
      );
      // The room keeps its own AI setting (off): nothing answers automatically.
      accepted(
        await postTelegram(
          t,
          telegramUpdate({ chatId, fromId: 7003, firstName: 'Wim', text: 'escalating this' }),
        ),
      );
      const msgs = await roomHistory(t, owner, room.roomId);
      expect(msgs.at(-1)).toMatchObject({ content: 'escalating this', authorName: 'Wim' });
      // The owner answers from Switchboard; it goes out to the linked chat.
      await send(t, owner, room.roomId, 'on it');
      await h.fake.waitFor('out', () =>
        h.fake.of('telegram', 'sendMessage').some((r) => r.body.chat_id === String(chatId)),
      );

      expect(
        (
          await t.api('DELETE', `/v1/admin/bridges/conversations/${linked.conversationId}`, {
            token: admin.token,
          })
        ).status,
      ).toBe(204);
      expectError(
        await t.api('DELETE', `/v1/admin/bridges/conversations/${linked.conversationId}`, {
          token: admin.token,
        }),
        404,
        'NOT_FOUND',
      );
    });

    it('rooms without bridged conversations get no outbox rows', async () => {
      const { t } = h;
      const owner = await t.newUser();
      const room = await t.newRoom(owner);
      const msg = await send(t, owner, room.roomId, 'just chatting');
      expect(await t.sb.bridges.repo.outboxOfMessage(msg.messageId)).toEqual([]);
    });

    it('reports which bridges are on', async () => {
      const platforms = expectOk(
        await h.t.api('GET', '/v1/admin/bridges', { token: h.admin.token }),
      ).platforms;
      expect(platforms).toEqual([
        { platform: 'telegram', configured: true, inbound: ['webhook'], outbound: true },
        { platform: 'slack', configured: true, inbound: ['events'], outbound: true },
        { platform: 'discord', configured: true, inbound: ['interactions'], outbound: true },
        { platform: 'api', configured: true, inbound: ['POST /message'], outbound: true },
      ]);
    });
  });

  describe(`bridge outbox across a crash (${backend})`, () => {
    let fake: FakePlatforms;
    beforeAll(async () => {
      fake = await startFakePlatforms();
    });
    afterAll(() => fake.close());

    it('a message committed while no relay or worker ran goes out once the next node starts', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sb-bridge-'));
      const schema = backend === 'postgres' ? randomSchema() : undefined;
      const store: Record<string, string> =
        backend === 'postgres'
          ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema! }
          : { DATABASE_URL: `sqlite:${join(dir, 'shared.db')}` };
      // First node: accepts messages but never hands the outbox to the queue (as if it crashed right after each commit).
      const first = await startBridgeApp(
        backend,
        { ...store, BRIDGE_RELAY_INTERVAL_MS: '0', BRIDGE_WORKER_CONCURRENCY: '0' },
        {},
        fake,
      );
      const chatId = newChat();
      accepted(await postTelegram(first.t, telegramUpdate({ chatId, fromId: 7100, text: 'hello?' })));
      const conv = await conversationOf(first.t, first.admin, 'telegram', String(chatId));
      const roomId = await staffIn(first.t, first.admin, conv.conversationId);
      // The relay's nudge after commit is what a crash would lose: stop it first.
      await first.t.sb.bridges.outbox.close();
      const msg = await send(first.t, first.admin, roomId, 'answer committed before the crash');
      const [row] = await first.t.sb.bridges.repo.outboxOfMessage(msg.messageId);
      expect(row).toMatchObject({ status: 'pending', queued: 0 });
      await first.close();
      expect(
        fake.of('telegram', 'sendMessage').filter((r) => r.body.chat_id === String(chatId)),
      ).toHaveLength(0);

      const second = await startBridgeApp(backend, store, {}, fake);
      try {
        await fake.waitFor('delivered after restart', () =>
          fake.of('telegram', 'sendMessage').some((r) => r.body.chat_id === String(chatId)),
        );
        await eventually('sent', async () =>
          (await second.t.sb.bridges.repo.outboxOfMessage(msg.messageId)).every((r) => r.status === 'sent'),
        );
        expect(
          fake.of('telegram', 'sendMessage').filter((r) => r.body.chat_id === String(chatId)),
        ).toHaveLength(1);
      } finally {
        await second.close();
      }
    });
  });
}
