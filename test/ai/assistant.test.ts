import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { expectOk, members, newUsers, send } from '../http/http-helpers.js';
import { closeAll, is, live, type WsClient } from '../realtime/ws-client.js';
import {
  type AiHarness,
  aiRoom,
  fromBot,
  lastUserText,
  roomMessages,
  shownText,
  startAiApp,
  systemText,
  waitForMessage,
} from './ai-helpers.js';

/**
 * The assistant in conversations, end to end: real server, real WebSocket clients, the real AI SDK
 * against local servers speaking the Anthropic and OpenAI wire protocols.
 */
for (const backend of await availableBackends()) {
  describe(`AI assistant in rooms (${backend})`, () => {
    let h: AiHarness;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      h = await startAiApp(backend);
    });
    afterAll(async () => {
      await closeAll(clients);
      await h.close();
    });
    const connect = async (...args: Parameters<typeof live>) => {
      const c = await live(...args);
      clients.push(c);
      return c;
    };

    it('a mention streams ai_stream frames to members and ends as exactly one ai_response replying to it', async () => {
      const { t, anthropic, bot } = h;
      const [alice, bob] = await newUsers(t, 2);
      const room = await aiRoom(t, alice);
      expectOk(await t.api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: bob.token }));
      const b = await connect(t, bob);
      anthropic.script({
        kind: 'answer',
        chunks: ['Hello', ' there', ', Alice', '!'],
        delayMs: 30,
        inputTokens: 42,
        outputTokens: 4,
      });

      const trigger = await send(t, alice, room.roomId, 'hi @ai please say hello');

      const committed = await b.next(
        (f) => f.type === 'new_message' && f.message.type === 'ai_response' && f.roomId === room.roomId,
        10_000,
      );
      expect(committed.message).toMatchObject({
        content: 'Hello there, Alice!',
        type: 'ai_response',
        replyTo: trigger.messageId,
        authorId: bot.userId,
        authorName: bot.displayName,
        metadata: {
          ai: {
            kind: 'ask',
            provider: 'anthropic',
            model: 'claude-test',
            inputTokens: 42,
            outputTokens: 4,
            streamId: expect.any(String),
          },
        },
      });
      const streamId = committed.message.metadata.ai.streamId;
      const done = await b.next(is('ai_stream', { streamId, done: true }));
      expect(done).toMatchObject({
        roomId: room.roomId,
        replyTo: trigger.messageId,
        status: 'answered',
        messageId: committed.message.messageId,
      });
      const frames = b.all(is('ai_stream', { streamId }));
      expect(frames.map((f) => f.index)).toEqual(frames.map((_, i) => i));
      expect(shownText(frames)).toBe('Hello there, Alice!');
      // Throttled: deltas are batched, never more frames than chunks plus the first and the last.
      expect(frames.length).toBeLessThanOrEqual(4 + 2);

      // The prompt: the question (without the mention) from Alice, as the assistant's persona.
      const req = anthropic.requests.at(-1)!;
      expect(lastUserText(req)).toContain(`asks: hi please say hello`);
      expect(systemText(req)).toContain(bot.displayName);
      expect(systemText(req)).toContain(room.name);

      // Exactly one answer in the log; the bot became a member of the room.
      const history = await roomMessages(t, alice, room.roomId);
      expect(fromBot(history, bot.userId)).toHaveLength(1);
      expect((await members(t, alice, room.roomId)).find((m) => m.userId === bot.userId)).toMatchObject({
        isBot: true,
        role: 'member',
      });
    });

    it('a room created with enableAI has the bot as a member at once', async () => {
      const [alice] = await newUsers(t(), 1);
      const room = await aiRoom(t(), alice);
      await waitForMembers(room.roomId, alice);
    });

    it('turning enableAI on adds the bot; rooms without enableAI are ignored', async () => {
      const { anthropic, bot } = h;
      const [alice] = await newUsers(t(), 1);
      const room = await t().newRoom(alice);
      const before = anthropic.requests.length;
      await send(t(), alice, room.roomId, '@ai are you there?');
      await send(t(), alice, room.roomId, '/ai hello?');
      await send(t(), alice, room.roomId, '/summarize');
      // Let any trigger handling run, then check: no provider call, no bot message, no bot member.
      await new Promise((r) => setTimeout(r, 200));
      expect(anthropic.requests.length).toBe(before);
      expect(fromBot(await roomMessages(t(), alice, room.roomId), bot.userId)).toEqual([]);
      expect((await members(t(), alice, room.roomId)).some((m) => m.userId === bot.userId)).toBe(false);

      expectOk(
        await t().api('PATCH', `/v1/chat/rooms/${room.roomId}`, {
          token: alice.token,
          body: { settings: { enableAI: true } },
        }),
      );
      await waitForMembers(room.roomId, alice);
    });

    it('a direct message to the bot is a question; the answer lands in the DM', async () => {
      const { anthropic, bot } = h;
      const [alice] = await newUsers(t(), 1);
      const dm = expectOk(
        await t().api('POST', '/v1/chat/direct', { token: alice.token, body: { userId: bot.userId } }),
      );
      const a = await connect(t(), alice);
      anthropic.script({ kind: 'answer', chunks: ['Four', '.'] });
      const q = await send(t(), alice, dm.roomId, 'What is 2 + 2?');
      const answer = await a.next(
        (f) => f.type === 'new_message' && f.roomId === dm.roomId && f.message.authorId === bot.userId,
        10_000,
      );
      expect(answer.message).toMatchObject({ content: 'Four.', type: 'ai_response', replyTo: q.messageId });
      expect(lastUserText(anthropic.requests.at(-1))).toContain('What is 2 + 2?');
    });

    it('/summarize sends the room’s latest messages (not earlier commands); /summarize n only n', async () => {
      const { anthropic, bot } = h;
      const [alice, bob] = await newUsers(t(), 2);
      const room = await aiRoom(t(), alice);
      expectOk(await t().api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: bob.token }));
      await send(t(), alice, room.roomId, 'Shall we ship on Friday?');
      await send(t(), bob, room.roomId, 'Friday works, after the demo.');
      await send(t(), alice, room.roomId, 'Decided: Friday.');

      anthropic.script({ kind: 'answer', chunks: ['- Ship Friday'] });
      const cmd = await send(t(), bob, room.roomId, '/summarize');
      const summary = await waitForMessage(
        t(),
        bob,
        room.roomId,
        (m) => m.replyTo === cmd.messageId,
        'summary',
      );
      expect(summary).toMatchObject({ type: 'ai_response', content: '- Ship Friday', authorId: bot.userId });
      expect(summary.metadata.ai.kind).toBe('summarize');
      const prompt = lastUserText(anthropic.requests.at(-1));
      expect(prompt).toContain('Summarize the last 3 messages');
      expect(prompt).toContain(`${alice.username}: Shall we ship on Friday?`);
      expect(prompt).toContain(`${bob.username}: Friday works, after the demo.`);
      expect(prompt).toContain(`${alice.username}: Decided: Friday.`);
      expect(prompt).not.toContain('/summarize');

      anthropic.script({ kind: 'answer', chunks: ['- Decided'] });
      const two = await send(t(), alice, room.roomId, '/summarize 2');
      await waitForMessage(t(), alice, room.roomId, (m) => m.replyTo === two.messageId, 'second summary');
      const prompt2 = lastUserText(anthropic.requests.at(-1));
      expect(prompt2).toContain('Summarize the last 2 messages');
      expect(prompt2).not.toContain('Shall we ship on Friday?');
      expect(prompt2).toContain('Decided: Friday.');
      expect(prompt2).toContain('- Ship Friday'); // the previous summary is a message of the room
    });

    it('/summarize unread covers what came since the sender last wrote', async () => {
      const { anthropic } = h;
      const [alice, bob] = await newUsers(t(), 2);
      const room = await aiRoom(t(), alice);
      expectOk(await t().api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: bob.token }));
      await send(t(), alice, room.roomId, 'old news before bob spoke');
      await send(t(), bob, room.roomId, 'bye for now');
      await send(t(), alice, room.roomId, 'new thing one');
      await send(t(), alice, room.roomId, 'new thing two');
      anthropic.script({ kind: 'answer', chunks: ['two new things'] });
      const cmd = await send(t(), bob, room.roomId, '/summarize unread');
      await waitForMessage(t(), bob, room.roomId, (m) => m.replyTo === cmd.messageId, 'unread summary');
      const prompt = lastUserText(anthropic.requests.at(-1));
      expect(prompt).toContain(`the 2 messages ${bob.username} has not seen yet`);
      expect(prompt).toContain('new thing one');
      expect(prompt).toContain('new thing two');
      expect(prompt).not.toContain('old news');
      expect(prompt).not.toContain('bye for now');
    });

    it('/translate translates its text, or the message it replies to', async () => {
      const { anthropic, bot } = h;
      const [alice, bob] = await newUsers(t(), 2);
      const room = await aiRoom(t(), alice);
      expectOk(await t().api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: bob.token }));

      anthropic.script({ kind: 'answer', chunks: ['Bonjour tout le monde'] });
      const cmd = await send(t(), alice, room.roomId, '/translate French Hello everyone');
      const tr = await waitForMessage(
        t(),
        alice,
        room.roomId,
        (m) => m.replyTo === cmd.messageId,
        'translation',
      );
      expect(tr).toMatchObject({
        type: 'ai_response',
        content: 'Bonjour tout le monde',
        authorId: bot.userId,
      });
      expect(lastUserText(anthropic.requests.at(-1))).toBe('Translate into French:\n\nHello everyone');

      const original = await send(t(), bob, room.roomId, 'Guten Morgen, wie geht es?');
      anthropic.script({ kind: 'answer', chunks: ['Good morning, how are you?'] });
      const reply = await send(t(), alice, room.roomId, '/translate English', {
        replyTo: original.messageId,
      });
      await waitForMessage(
        t(),
        alice,
        room.roomId,
        (m) => m.replyTo === reply.messageId,
        'reply translation',
      );
      expect(lastUserText(anthropic.requests.at(-1))).toBe(
        'Translate into English:\n\nGuten Morgen, wie geht es?',
      );

      // Without text and without a reply: how to use it, and no provider call.
      const before = anthropic.requests.length;
      const bad = await send(t(), alice, room.roomId, '/translate');
      const usage = await waitForMessage(
        t(),
        alice,
        room.roomId,
        (m) => m.replyTo === bad.messageId,
        'usage',
      );
      expect(usage).toMatchObject({
        type: 'system',
        authorId: bot.userId,
        metadata: { ai: { status: 'usage' } },
      });
      expect(usage.content).toContain('/translate <language>');
      expect(anthropic.requests.length).toBe(before);
    });

    it('falls back to the second provider when the first fails', async () => {
      const { anthropic, openai } = h;
      const [alice] = await newUsers(t(), 1);
      const room = await aiRoom(t(), alice);
      anthropic.script({ kind: 'status', status: 500, message: 'meltdown' });
      openai.script({ kind: 'answer', chunks: ['from ', 'openai'], inputTokens: 9, outputTokens: 2 });
      const q = await send(t(), alice, room.roomId, '/ai who answers?');
      const answer = await waitForMessage(
        t(),
        alice,
        room.roomId,
        (m) => m.replyTo === q.messageId,
        'answer',
      );
      expect(answer).toMatchObject({
        type: 'ai_response',
        content: 'from openai',
        metadata: { ai: { provider: 'openai', model: 'gpt-test', inputTokens: 9, outputTokens: 2 } },
      });
      expect(lastUserText(openai.requests.at(-1))).toContain('who answers?');
    });

    it('context: the thread a question replies to, and recent messages, within the token budget', async () => {
      const { anthropic } = h;
      const [alice, bob] = await newUsers(t(), 2);
      const room = await aiRoom(t(), alice);
      expectOk(await t().api('POST', `/v1/chat/rooms/${room.roomId}/join`, { token: bob.token }));
      const root = await send(t(), alice, room.roomId, 'Root: which database should we use?');
      for (let i = 0; i < 5; i++) await send(t(), bob, room.roomId, `filler message number ${i}`);
      const reply = await send(t(), bob, room.roomId, 'Reply: PostgreSQL, surely', {
        replyTo: root.messageId,
      });
      anthropic.script({ kind: 'answer', chunks: ['Agreed'] });
      const q = await send(t(), alice, room.roomId, '@ai do you agree?', { replyTo: reply.messageId });
      await waitForMessage(t(), alice, room.roomId, (m) => m.replyTo === q.messageId, 'answer');
      const prompt = lastUserText(anthropic.requests.at(-1));
      const thread = prompt.split('The question replies to this thread, oldest first:\n')[1]!;
      expect(
        thread.startsWith(
          `${alice.username}: Root: which database should we use?\n${bob.username}: Reply: PostgreSQL, surely`,
        ),
      ).toBe(true);
      expect(prompt).toContain('Recent messages in this conversation, oldest first:');
      expect(prompt).toContain('filler message number 4');
      expect(prompt.trimEnd().endsWith(`${alice.username} asks: do you agree?`)).toBe(true);
    });

    function t() {
      return h.t;
    }

    async function waitForMembers(roomId: string, viewer: Parameters<typeof members>[1]) {
      for (let i = 0; i < 200; i++) {
        if ((await members(t(), viewer, roomId)).some((m) => m.userId === h.bot.userId && m.isBot)) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('the bot did not become a member');
    }
  });
}
