import { describe, expect, it } from 'vitest';
import { parseTrigger, SUMMARY_DEFAULT_COUNT, SUMMARY_MAX_COUNT, USAGE } from '../../src/ai/triggers.js';

const room = { names: ['ai', 'assistant'], direct: false, hasReply: false };
const dm = { ...room, direct: true };
const parse = (text: string, ctx = room) => parseTrigger(text, ctx);

describe('parseTrigger', () => {
  it('mentions ask, with the mention taken out of the question', () => {
    expect(parse('@ai what time is it?')).toEqual({ kind: 'ask', question: 'what time is it?' });
    expect(parse('hey @AI, what now')).toEqual({ kind: 'ask', question: 'hey , what now' });
    expect(parse('thanks @assistant!')).toEqual({ kind: 'ask', question: 'thanks !' });
    expect(parse('ask @ai.')).toEqual({ kind: 'ask', question: 'ask .' });
    expect(parse('@ai')).toEqual({ kind: 'ask', question: '' });
  });

  it('ignores look-alikes: emails, longer names, no mention', () => {
    expect(parse('mail me at bob@ai.com')).toBeUndefined();
    expect(parse('@aid is a user')).toBeUndefined();
    expect(parse('@ai-team meeting')).toBeUndefined();
    expect(parse('@ai.bot hi')).toBeUndefined();
    expect(parse('plain text about ai')).toBeUndefined();
  });

  it('commands: /ai, /stop, /summarize, /translate', () => {
    expect(parse('/ai what is 2+2')).toEqual({ kind: 'ask', question: 'what is 2+2' });
    expect(parse('/AI   multi\nline')).toEqual({ kind: 'ask', question: 'multi\nline' });
    expect(parse('/stop')).toEqual({ kind: 'stop' });
    expect(parse('  /stop  ')).toEqual({ kind: 'stop' });
    expect(parse('/summarize')).toEqual({ kind: 'summarize', count: SUMMARY_DEFAULT_COUNT, unread: false });
    expect(parse('/summarise 20')).toEqual({ kind: 'summarize', count: 20, unread: false });
    expect(parse('/summarize unread')).toEqual({ kind: 'summarize', count: SUMMARY_MAX_COUNT, unread: true });
    expect(parse('/summarize 0')).toEqual({ kind: 'usage', help: USAGE.summarize });
    expect(parse(`/summarize ${SUMMARY_MAX_COUNT + 1}`)).toEqual({ kind: 'usage', help: USAGE.summarize });
    expect(parse('/summarize lots')).toEqual({ kind: 'usage', help: USAGE.summarize });
    expect(parse('/translate fr Hello there')).toEqual({
      kind: 'translate',
      language: 'fr',
      text: 'Hello there',
    });
    expect(parse('/translate pt-BR line one\nline two')).toEqual({
      kind: 'translate',
      language: 'pt-BR',
      text: 'line one\nline two',
    });
    expect(parse('/translate German')).toEqual({ kind: 'usage', help: USAGE.translate });
    expect(parse('/translate German', { ...room, hasReply: true })).toEqual({
      kind: 'translate',
      language: 'German',
      text: null,
    });
    expect(parse('/translate')).toEqual({ kind: 'usage', help: USAGE.translate });
  });

  it('other slash commands are not for the assistant (except in its DM, where they are questions)', () => {
    expect(parse('/me waves')).toBeUndefined();
    expect(parse('/me waves', dm)).toEqual({ kind: 'ask', question: '/me waves' });
  });

  it('in a DM with the bot every message is a question; commands keep their meaning', () => {
    expect(parse('hello there', dm)).toEqual({ kind: 'ask', question: 'hello there' });
    expect(parse('/stop', dm)).toEqual({ kind: 'stop' });
    expect(parse('/summarize 5', dm)).toEqual({ kind: 'summarize', count: 5, unread: false });
    expect(parse('   ', dm)).toBeUndefined();
  });

  it('honours a configured bot username', () => {
    const ctx = { ...room, names: ['helper', 'ai', 'assistant'] };
    expect(parse('@helper hi', ctx)).toEqual({ kind: 'ask', question: 'hi' });
    expect(parse('@helper hi')).toBeUndefined();
  });
});
