import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../ai/ai-helpers.js';
import { availableBackends } from '../helpers/backends.js';
import { expectError, send } from '../http/http-helpers.js';
import {
  type BridgeHarness,
  conversationOf,
  postDiscord,
  roomHistory,
  staffIn,
  startBridgeApp,
} from './bridge-helpers.js';
import { FakeDiscordGateway } from './fake-discord-gateway.js';
import {
  DISCORD_APP_ID,
  DISCORD_BOT_TOKEN,
  discordCommand,
  discordHeaders,
  discordKeys,
} from './fake-platforms.js';

let n = 0;
const newChannel = () => `${880_000_000 + process.pid * 100 + ++n}`;

/**
 * The Discord bridge: interactions (Ed25519-signed slash commands, deferred replies filled in
 * through the interaction webhook) and the gateway (a local server speaking the gateway protocol).
 */
for (const backend of await availableBackends()) {
  describe(`Discord bridge (${backend})`, () => {
    let h: BridgeHarness;
    let gw: FakeDiscordGateway;
    beforeAll(async () => {
      gw = await new FakeDiscordGateway(DISCORD_BOT_TOKEN, '555000555').start();
      h = await startBridgeApp(backend, { DISCORD_GATEWAY: 'true', DISCORD_GATEWAY_URL: gw.url });
    });
    afterAll(async () => {
      await h.close();
      await gw.close();
    });

    it('answers a signed PING with PONG and refuses bad signatures', async () => {
      const { t, keys } = h;
      const ping = { id: '1', type: 1, application_id: DISCORD_APP_ID, token: 'x', version: 1 };
      const r = await postDiscord(t, ping, keys);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ type: 1 });
      const other = discordKeys();
      expectError(
        await postDiscord(t, ping, keys, discordHeaders(JSON.stringify(ping), other)),
        401,
        'INVALID_SIGNATURE',
      );
      expectError(
        await t.api('POST', '/v1/bridges/discord/interactions', { body: ping }),
        401,
        'INVALID_SIGNATURE',
      );
      // A valid signature over a different body does not pass either.
      const headers = discordHeaders(JSON.stringify(ping), keys);
      expectError(
        await t.api('POST', '/v1/bridges/discord/interactions', {
          body: JSON.stringify({ ...ping, id: '2' }),
          headers,
        }),
        401,
        'INVALID_SIGNATURE',
      );
    });

    it('a slash command is deferred (type 5); the first answer fills in the original reply, later ones are channel messages', async () => {
      const { t, keys, admin, fake } = h;
      const channelId = newChannel();
      const cmd = discordCommand({ channelId, userId: '700', text: 'where is my order?', token: 'tok-one' });
      const r = await postDiscord(t, cmd, keys);
      expect(r.body).toEqual({ type: 5 });
      const conv = await conversationOf(t, admin, 'discord', channelId);
      expect(conv.title).toBe('#support');
      const roomId = await staffIn(t, admin, conv.conversationId);
      const [asked] = (await roomHistory(t, admin, roomId)).filter((m) => m.type === 'text');
      expect(asked).toMatchObject({ content: '/ask where is my order?', authorName: 'Dora' });

      await send(t, admin, roomId, 'It ships **today** @everyone', { replyTo: asked.messageId });
      const [patch] = await fake
        .waitFor('PATCH original', () =>
          fake.of('discord').some((x) => x.method === 'PATCH /webhooks/:app/:token/messages/@original'),
        )
        .then(() => fake.of('discord', 'PATCH /webhooks/:app/:token/messages/@original'));
      expect(patch!.path).toBe(`/discord/api/v10/webhooks/${DISCORD_APP_ID}/tok-one/messages/@original`);
      expect(patch!.body.content).toMatch(/: It ships \*\*today\*\* @everyone$/);
      expect(patch!.body.allowed_mentions).toEqual({ parse: [] });
      expect(patch!.headers.authorization).toBeUndefined();

      await send(t, admin, roomId, 'anything else?');
      await fake.waitFor('channel message', () =>
        fake.of('discord', 'POST /channels/:id/messages').some((x) => x.path.includes(channelId)),
      );
      const post = fake.of('discord', 'POST /channels/:id/messages').find((x) => x.path.includes(channelId))!;
      expect(post.headers.authorization).toBe(`Bot ${DISCORD_BOT_TOKEN}`);
      expect(post.body.content).toMatch(/: anything else\?$/);
    });

    it('a refused command gets an ephemeral notice instead of a deferred reply', async () => {
      const { t, keys } = h;
      const cmd = discordCommand({ channelId: newChannel(), userId: '701', text: 'x'.repeat(5000) });
      const r = await postDiscord(t, cmd, keys);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        type: 4,
        data: { flags: 64, content: expect.stringMatching(/longer than/) },
      });
    });

    it('the gateway identifies with the bot token and intents, then brings channel messages in (bots ignored)', async () => {
      const { t, admin } = h;
      await eventually('identify', () => gw.received.some((p) => p.op === 2));
      const identify = gw.received.find((p) => p.op === 2)!;
      expect(identify.d).toMatchObject({
        token: DISCORD_BOT_TOKEN,
        intents: 1 | (1 << 9) | (1 << 12) | (1 << 15),
      });
      await eventually('gateway ready', () => t.sb.bridges.gateway?.ready === true);
      const channelId = newChannel();
      gw.dispatch('MESSAGE_CREATE', {
        id: '9001',
        channel_id: channelId,
        guild_id: '300',
        author: { id: '800', username: 'erin', global_name: 'Erin' },
        content: 'hey <@555000555> are you there',
        type: 0,
      });
      gw.dispatch('MESSAGE_CREATE', {
        id: '9002',
        channel_id: channelId,
        guild_id: '300',
        author: { id: '555000555', username: 'switchboard-bot', bot: true },
        content: 'our own echo',
        type: 0,
      });
      await eventually('conversation', async () =>
        conversationOf(t, admin, 'discord', channelId).then(
          () => true,
          () => false,
        ),
      );
      const conv = await conversationOf(t, admin, 'discord', channelId);
      const roomId = await staffIn(t, admin, conv.conversationId);
      await eventually('message', async () =>
        (await roomHistory(t, admin, roomId)).some((m) => m.type === 'text'),
      );
      const texts = (await roomHistory(t, admin, roomId)).filter((m) => m.type === 'text');
      expect(texts.map((m) => m.content)).toEqual(['hey @ai are you there']);
      expect(texts[0].authorName).toBe('Erin');
    });

    it('heartbeats carry the last sequence; a dropped connection resumes and gets what was missed', async () => {
      const { t, admin } = h;
      await eventually('heartbeat', () => gw.received.some((p) => p.op === 1 && typeof p.d === 'number'));
      const channelId = newChannel();
      gw.dropAll();
      // Dispatched while the client is away: a Resume replays it.
      gw.dispatch('MESSAGE_CREATE', {
        id: '9101',
        channel_id: channelId,
        guild_id: '300',
        author: { id: '801', username: 'finn' },
        content: 'sent while you were away',
        type: 0,
      });
      await eventually('resume', () => gw.received.some((p) => p.op === 6), 15_000);
      const resume = gw.received.find((p) => p.op === 6)!;
      expect(resume.d).toMatchObject({
        token: DISCORD_BOT_TOKEN,
        session_id: gw.sessionId,
        seq: expect.any(Number),
      });
      await eventually(
        'replayed message',
        async () =>
          conversationOf(t, admin, 'discord', channelId).then(
            () => true,
            () => false,
          ),
        10_000,
      );
    });
  });
}
