import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../ai/ai-helpers.js';
import { availableBackends } from '../helpers/backends.js';
import { expectError, send } from '../http/http-helpers.js';
import {
  accepted,
  type BridgeHarness,
  conversationOf,
  postSlack,
  roomHistory,
  sleep,
  staffIn,
  startBridgeApp,
} from './bridge-helpers.js';
import { SLACK_SIGNING_SECRET, slackEvent, slackHeaders } from './fake-platforms.js';

let n = 0;
const newChannel = () => `C${process.pid}${++n}`;
let tsCounter = 1_700_000_000;
const newTs = () => `${++tsCounter}.000100`;

/** The Slack bridge: signed Events API requests in, chat.postMessage to a local Web API fake out. */
for (const backend of await availableBackends()) {
  describe(`Slack bridge (${backend})`, () => {
    let h: BridgeHarness;
    beforeAll(async () => {
      h = await startBridgeApp(backend);
    });
    afterAll(() => h.close());

    it('answers the url_verification challenge of a signed request', async () => {
      const r = await postSlack(h.t, { token: 'x', challenge: 'c-123', type: 'url_verification' });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ challenge: 'c-123' });
    });

    it('refuses unsigned, wrongly signed and stale requests', async () => {
      const body = JSON.stringify(slackEvent({ channel: newChannel(), user: 'U1', text: 'x', ts: newTs() }));
      const now = Math.floor(Date.now() / 1000);
      const cases: Record<string, string>[] = [
        { 'content-type': 'application/json' },
        slackHeaders(body, now, 'not-the-signing-secret'),
        slackHeaders(body, now - 6 * 60),
        { ...slackHeaders(body, now), 'x-slack-request-timestamp': String(now + 1) },
      ];
      for (const headers of cases) {
        const r = await h.t.api('POST', '/v1/bridges/slack/events', { body, headers });
        expectError(r, 401, 'INVALID_SIGNATURE');
      }
      expect(SLACK_SIGNING_SECRET).toBeTruthy();
    });

    it('brings a message in with the name from users.info; the app_mention of the same post adds nothing', async () => {
      const { t, admin, fake } = h;
      const channel = newChannel();
      const ts = newTs();
      const msg = slackEvent({ channel, user: 'U0ALICE', text: 'Hi <@UBOT>, &lt;b&gt; &amp; co', ts });
      const mention = slackEvent({
        channel,
        user: 'U0ALICE',
        text: 'Hi <@UBOT>, &lt;b&gt; &amp; co',
        ts,
        type: 'app_mention',
        eventId: 'EvOther',
      });
      const [a, b] = await Promise.all([postSlack(t, msg), postSlack(t, mention)]);
      accepted(a);
      accepted(b);
      const conv = await conversationOf(t, admin, 'slack', `T0001:${channel}`);
      const roomId = await staffIn(t, admin, conv.conversationId);
      const texts = (await roomHistory(t, admin, roomId)).filter((m) => m.type === 'text');
      expect(texts).toHaveLength(1);
      expect(texts[0]).toMatchObject({ content: 'Hi @ai, <b> & co', authorName: 'Slack U0ALICE' });
      expect(fake.of('slack', 'users.info').some((r) => r.body.user === 'U0ALICE')).toBe(true);
    });

    it('ignores bot messages (our own replies come back as events), edits and joins', async () => {
      const { t, admin } = h;
      const channel = newChannel();
      accepted(
        await postSlack(
          t,
          slackEvent({ channel, text: 'from a bot', ts: newTs(), botId: 'B1', subtype: 'bot_message' }),
        ),
      );
      accepted(
        await postSlack(
          t,
          slackEvent({ channel, user: 'U1', text: 'edited', ts: newTs(), subtype: 'message_changed' }),
        ),
      );
      accepted(
        await postSlack(
          t,
          slackEvent({ channel, user: 'U1', text: 'joined', ts: newTs(), subtype: 'channel_join' }),
        ),
      );
      await expect(conversationOf(t, admin, 'slack', `T0001:${channel}`)).rejects.toThrow(
        /no slack conversation/,
      );
    });

    it('replies go out with chat.postMessage in the thread of the message answered, escaped', async () => {
      const { t, admin, fake } = h;
      const channel = newChannel();
      const root = newTs();
      accepted(await postSlack(t, slackEvent({ channel, user: 'U0BOB', text: 'question', ts: root })));
      const conv = await conversationOf(t, admin, 'slack', `T0001:${channel}`);
      const roomId = await staffIn(t, admin, conv.conversationId);
      const [question] = (await roomHistory(t, admin, roomId)).filter((m) => m.type === 'text');
      const answer = await send(t, admin, roomId, 'use <b> & see', { replyTo: question.messageId });
      await fake.waitFor('postMessage', () =>
        fake.of('slack', 'chat.postMessage').some((r) => r.body.channel === channel),
      );
      const out = fake.of('slack', 'chat.postMessage').filter((r) => r.body.channel === channel);
      expect(out).toHaveLength(1);
      expect(out[0]!.headers.authorization).toBe('Bearer xoxb-slack-test-token');
      expect(out[0]!.body).toMatchObject({
        channel,
        thread_ts: root,
        text: expect.stringMatching(/^\*.+\*: use &lt;b&gt; &amp; see$/),
      });

      // A reply inside that thread answers the thread's first message in Switchboard.
      accepted(
        await postSlack(
          t,
          slackEvent({ channel, user: 'U0BOB', text: 'thanks', ts: newTs(), threadTs: root }),
        ),
      );
      const last = (await roomHistory(t, admin, roomId)).at(-1);
      expect(last).toMatchObject({
        content: 'thanks',
        replyTo: question.messageId,
        metadata: { bridge: { threadId: root } },
      });
      // Our answer to that reply stays in the same thread (not a thread under the reply).
      await send(t, admin, roomId, 'you are welcome', { replyTo: last.messageId });
      await fake.waitFor(
        'second postMessage',
        () => fake.of('slack', 'chat.postMessage').filter((r) => r.body.channel === channel).length === 2,
      );
      expect(
        fake.of('slack', 'chat.postMessage').filter((r) => r.body.channel === channel)[1]!.body.thread_ts,
      ).toBe(root);
      expect(answer.messageId).toBeTruthy();
    });

    it('retries `ratelimited` (HTTP 429 with Retry-After) and gives up on channel_not_found', async () => {
      const { t, admin, fake } = h;
      const channel = newChannel();
      accepted(await postSlack(t, slackEvent({ channel, user: 'U0CAT', text: 'hello', ts: newTs() })));
      const conv = await conversationOf(t, admin, 'slack', `T0001:${channel}`);
      const roomId = await staffIn(t, admin, conv.conversationId);
      fake.script('chat.postMessage', {
        status: 429,
        headers: { 'retry-after': '0' },
        body: { ok: false, error: 'ratelimited' },
      });
      const first = await send(t, admin, roomId, 'one');
      await eventually('sent after 429', async () =>
        (await t.sb.bridges.repo.outboxOfMessage(first.messageId)).some((r) => r.status === 'sent'),
      );
      fake.script('chat.postMessage', { status: 200, body: { ok: false, error: 'channel_not_found' } });
      const second = await send(t, admin, roomId, 'two');
      await eventually('failed', async () =>
        (await t.sb.bridges.repo.outboxOfMessage(second.messageId)).some((r) => r.status === 'failed'),
      );
      const [row] = await t.sb.bridges.repo.outboxOfMessage(second.messageId);
      expect(row!.last_error).toContain('channel_not_found');
      await sleep(200);
      expect(fake.of('slack', 'chat.postMessage').filter((r) => r.body.text?.endsWith('two'))).toHaveLength(
        1,
      );
    });
  });
}
