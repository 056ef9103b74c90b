import { describe, expect, it } from 'vitest';
import { splitText } from '../outbound-text.js';
import { interactionResponse, parseDiscordInteraction, parseDiscordMessage } from './discord.js';
import { fromSlackText, parseSlackRequest, toSlackText } from './slack.js';
import { parseTelegramUpdate } from './telegram.js';

describe('parseTelegramUpdate', () => {
  const base = (message: Record<string, unknown>) => ({
    update_id: 1,
    message: {
      message_id: 10,
      date: 0,
      chat: { id: -5, type: 'group', title: 'Team' },
      from: { id: 7, first_name: 'Ada', last_name: 'L' },
      ...message,
    },
  });

  it('takes text, caption or the media kind', () => {
    expect(parseTelegramUpdate(base({ text: 'hi' }))).toMatchObject({
      conversation: { externalId: '-5', title: 'Team' },
      author: { externalId: '7', name: 'Ada L' },
      externalMessageId: '10',
      text: 'hi',
    });
    expect(parseTelegramUpdate(base({ caption: 'cap', photo: [] }))?.text).toBe('cap');
    expect(parseTelegramUpdate(base({ voice: {} }))?.text).toBe('[voice]');
  });

  it('forum topics are separate conversations; replies carry the replied id', () => {
    const m = parseTelegramUpdate(
      base({ text: 'x', is_topic_message: true, message_thread_id: 3, reply_to_message: { message_id: 9 } }),
    );
    expect(m).toMatchObject({ conversation: { externalId: '-5:3' }, replyToExternalId: '9' });
  });

  it('ignores bots, service messages and other update kinds; rejects non-updates', () => {
    expect(parseTelegramUpdate(base({ text: 'x', from: { id: 1, is_bot: true } }))).toBeUndefined();
    expect(parseTelegramUpdate(base({ new_chat_title: 'New' }))).toBeUndefined();
    expect(parseTelegramUpdate({ update_id: 2, edited_message: {} })).toBeUndefined();
    expect(() => parseTelegramUpdate({ message: {} })).toThrow(TypeError);
    expect(() => parseTelegramUpdate({ update_id: 3, message: { message_id: 'x' } })).toThrow(TypeError);
    expect(() => parseTelegramUpdate(null)).toThrow(TypeError);
  });
});

describe('parseSlackRequest', () => {
  const event = (e: Record<string, unknown>) => ({
    type: 'event_callback',
    team_id: 'T1',
    event_id: 'Ev1',
    authorizations: [{ user_id: 'UBOT' }],
    event: { type: 'message', channel: 'C1', user: 'U1', text: 'hi', ts: '1.1', ...e },
  });

  it('challenge, message, thread reply', () => {
    expect(parseSlackRequest({ type: 'url_verification', challenge: 'abc' })).toEqual({
      kind: 'challenge',
      challenge: 'abc',
    });
    expect(parseSlackRequest(event({}))).toMatchObject({
      kind: 'message',
      message: {
        conversation: { externalId: 'T1:C1' },
        author: { externalId: 'T1:U1' },
        externalMessageId: '1.1',
      },
    });
    const r = parseSlackRequest(event({ ts: '2.2', thread_ts: '1.1' }));
    expect(r.kind === 'message' && r.message).toMatchObject({
      replyToExternalId: '1.1',
      threadExternalId: '1.1',
    });
    // A thread's root has thread_ts equal to its ts: not a reply.
    const root = parseSlackRequest(event({ ts: '1.1', thread_ts: '1.1' }));
    expect(root.kind === 'message' && root.message.replyToExternalId).toBeUndefined();
  });

  it('ignores bots, edits and other events', () => {
    expect(parseSlackRequest(event({ bot_id: 'B' })).kind).toBe('ignore');
    expect(parseSlackRequest(event({ subtype: 'message_changed' })).kind).toBe('ignore');
    expect(parseSlackRequest(event({ type: 'reaction_added' })).kind).toBe('ignore');
    expect(parseSlackRequest({ type: 'app_rate_limited' }).kind).toBe('ignore');
    expect(parseSlackRequest(event({ subtype: 'file_share', text: '' }))).toMatchObject({
      kind: 'message',
      message: { text: '[file]' },
    });
    expect(() => parseSlackRequest({})).toThrow(TypeError);
  });

  it('unescapes Slack text and escapes ours', () => {
    expect(
      fromSlackText('<@UBOT> hi <@U2> in <#C1|general> see <https://x.io|site> &lt;3 &amp;', 'UBOT'),
    ).toBe('@ai hi @U2 in #general see site (https://x.io) <3 &');
    expect(toSlackText('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
  });
});

describe('Discord', () => {
  it('PING, commands with options, unsupported types', () => {
    expect(parseDiscordInteraction({ type: 1 }, 0)).toEqual({ kind: 'ping' });
    expect(interactionResponse({ kind: 'ping' })).toEqual({ type: 1 });
    const cmd = parseDiscordInteraction(
      {
        type: 2,
        id: '9',
        token: 'tok',
        channel_id: 'C',
        guild_id: 'G',
        member: { user: { id: 'U', username: 'u', global_name: 'You' } },
        data: {
          name: 'translate',
          options: [
            { name: 'lang', value: 'fr' },
            { name: 'text', value: 'hello' },
          ],
        },
      },
      1000,
    );
    expect(cmd).toMatchObject({
      kind: 'command',
      message: {
        text: '/translate fr hello',
        author: { name: 'You' },
        replyToken: { token: 'tok', expiresAt: 1000 + 15 * 60_000 },
      },
    });
    const custom = parseDiscordInteraction(
      {
        type: 2,
        id: '9',
        token: 't',
        channel_id: 'C',
        user: { id: 'U' },
        data: { name: 'support', options: [{ name: 'q', value: 'help me' }] },
      },
      0,
    );
    expect(custom.kind === 'command' && custom.message.text).toBe('help me');
    expect(parseDiscordInteraction({ type: 3 }, 0)).toEqual({ kind: 'unsupported', type: 3 });
    expect(interactionResponse({ kind: 'unsupported', type: 3 })).toMatchObject({
      type: 4,
      data: { flags: 64 },
    });
    expect(() => parseDiscordInteraction({ type: 2, data: {} }, 0)).toThrow(TypeError);
  });

  it('gateway messages: mentions of the bot become @ai; bots, webhooks and empty ones are skipped', () => {
    const d = { id: '1', channel_id: 'C', author: { id: 'U', username: 'u' }, content: '<@42> hi <@!42>' };
    expect(parseDiscordMessage(d, '42')?.text).toBe('@ai hi @ai');
    expect(parseDiscordMessage({ ...d, author: { id: 'B', bot: true } })).toBeUndefined();
    expect(parseDiscordMessage({ ...d, webhook_id: 'W' })).toBeUndefined();
    expect(parseDiscordMessage({ ...d, content: '' })).toBeUndefined();
    expect(parseDiscordMessage({ ...d, message_reference: { message_id: '0' } })?.replyToExternalId).toBe(
      '0',
    );
  });
});

describe('splitText', () => {
  it('keeps short text whole and cuts long text at line breaks, then spaces, never in a surrogate pair', () => {
    expect(splitText('short', 10)).toEqual(['short']);
    expect(splitText('aaaaaa\nbbb cccc', 10)).toEqual(['aaaaaa', 'bbb cccc']);
    expect(splitText('aaaa bbbb cccc', 10)).toEqual(['aaaa bbbb', 'cccc']);
    const emoji = `${'x'.repeat(9)}😀`;
    const parts = splitText(emoji, 10);
    expect(parts.join('')).toBe(emoji);
    expect(parts.every((p) => !/[\ud800-\udbff]$/.test(p))).toBe(true);
    const long = 'y'.repeat(25);
    expect(splitText(long, 10)).toEqual(['y'.repeat(10), 'y'.repeat(10), 'y'.repeat(5)]);
  });
});
