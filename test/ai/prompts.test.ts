import { describe, expect, it } from 'vitest';
import type { AiSession } from '../../src/ai/ai-sessions.js';
import {
  approxTokens,
  buildAskPrompt,
  buildSummaryPrompt,
  buildTranslatePrompt,
  type ContextLine,
} from '../../src/ai/prompts.js';

const persona = { botName: 'Helper', roomName: 'general' };
const line = (i: number, content = `message number ${i}`): ContextLine => ({
  messageId: `m${i}`,
  seq: i,
  author: i % 2 ? 'bob' : 'alice',
  content,
});
const lines = (n: number) => Array.from({ length: n }, (_, i) => line(i));
const totalTokens = (p: { system: string; messages: { content: string }[] }) =>
  approxTokens(p.system) + p.messages.reduce((n, m) => n + approxTokens(m.content), 0);

function session(turns: AiSession['turns'], summary: string | null = null): AiSession {
  return { id: 's', userId: 'u', roomId: 'r', turns, summary, tokensUsed: 0, createdAt: 0, expiresAt: 1 };
}

describe('approxTokens', () => {
  it('is characters / 4, rounded up', () => {
    expect(approxTokens('')).toBe(0);
    expect(approxTokens('abcd')).toBe(1);
    expect(approxTokens('abcde')).toBe(2);
  });
});

describe('buildAskPrompt', () => {
  it('sends the question last, with persona, room and instructions in the system prompt', () => {
    const p = buildAskPrompt({
      persona: { ...persona, extra: 'Always be brief.' },
      asker: 'carol',
      question: 'why?',
      thread: [],
      recent: [],
      budget: 1000,
    });
    expect(p.system).toContain('You are Helper');
    expect(p.system).toContain('"general"');
    expect(p.system.endsWith('Always be brief.')).toBe(true);
    expect(p.messages).toEqual([{ role: 'user', content: 'carol asks: why?' }]);
    expect(p.use).toMatchObject({ thread: 0, recent: 0, turns: 0, summary: false });
  });

  it('keeps the newest recent messages that fit, and never exceeds the budget', () => {
    for (const budget of [200, 300, 500, 2000]) {
      const p = buildAskPrompt({
        persona,
        asker: 'carol',
        question: 'q',
        thread: [],
        recent: lines(200),
        budget,
      });
      expect(totalTokens(p)).toBeLessThanOrEqual(budget);
      const kept = [...p.messages.at(-1)!.content.matchAll(/message number (\d+)/g)].map((m) => Number(m[1]));
      expect(kept.at(-1)).toBe(199);
      expect(kept).toEqual(kept.map((_, i) => 200 - kept.length + i));
      expect(p.use.recent).toBe(kept.length);
    }
  });

  it('puts the thread before recent messages in priority and does not repeat thread lines', () => {
    const thread: ContextLine[] = [
      { messageId: 't1', seq: 1, author: 'alice', content: 'thread root' },
      { messageId: 't2', seq: 2, author: 'bob', content: 'thread reply' },
    ];
    const recent = [...lines(50), thread[0]!, thread[1]!];
    // System prompt 68 tokens, question 4: 38 left; the thread with its header takes 26.
    const small = buildAskPrompt({ persona, asker: 'carol', question: 'q', thread, recent, budget: 110 });
    const content = small.messages.at(-1)!.content;
    expect(small.use.thread).toBe(2);
    expect(content).toContain(
      'The question replies to this thread, oldest first:\nalice: thread root\nbob: thread reply',
    );
    expect(content.match(/thread root/g)).toHaveLength(1);
    expect(small.use.recent).toBe(0);
    expect(totalTokens(small)).toBeLessThanOrEqual(110);
  });

  it('adds session turns (newest kept) and the last summary; skips turns still among recent messages', () => {
    const s = session(
      [
        { q: 'old question', a: 'old answer' },
        { q: 'in the room', a: 'answer in the room', messageId: 'm5' },
        { q: 'recent question', a: 'recent answer' },
      ],
      'Earlier they agreed on Friday.',
    );
    const p = buildAskPrompt({
      persona,
      asker: 'carol',
      question: 'next?',
      thread: [],
      recent: lines(10),
      session: s,
      budget: 2000,
    });
    expect(p.messages.slice(0, -1)).toEqual([
      { role: 'user', content: 'old question' },
      { role: 'assistant', content: 'old answer' },
      { role: 'user', content: 'recent question' },
      { role: 'assistant', content: 'recent answer' },
    ]);
    expect(p.messages.at(-1)!.content).toContain(
      'Earlier summary of this conversation:\nEarlier they agreed on Friday.',
    );
    expect(p.use).toMatchObject({ turns: 2, summary: true });
  });

  it('cuts the oldest session turns first when the budget is tight', () => {
    const long = 'x'.repeat(200);
    const s = session([
      { q: `first ${long}`, a: long },
      { q: `second ${long}`, a: long },
    ]);
    const p = buildAskPrompt({
      persona,
      asker: 'carol',
      question: 'q',
      thread: [],
      recent: [],
      session: s,
      budget: 250,
    });
    expect(p.use.turns).toBe(1);
    expect(p.messages[0]!.content.startsWith('second')).toBe(true);
  });

  it('limits client-supplied context to half the budget', () => {
    const p = buildAskPrompt({
      persona,
      asker: 'c',
      question: 'q',
      thread: [],
      recent: [],
      extraContext: 'y'.repeat(10_000),
      budget: 400,
    });
    const ctx = p.messages[0]!.content.split('Context given with the question:\n')[1]!.split('\n\n')[0]!;
    expect(ctx.length).toBeLessThanOrEqual(200 * 4 + 1);
  });

  it('has a question even when the mention came alone', () => {
    const p = buildAskPrompt({
      persona,
      asker: 'c',
      question: '  ',
      thread: [],
      recent: [line(1)],
      budget: 1000,
    });
    expect(p.messages[0]!.content).toContain('c asks: (no question: respond to the conversation above)');
  });
});

describe('buildSummaryPrompt', () => {
  it('summarizes the newest lines that fit; undefined when nothing does', () => {
    const p = buildSummaryPrompt({
      persona,
      requester: 'carol',
      lines: lines(100),
      unread: false,
      budget: 300,
    })!;
    expect(totalTokens(p)).toBeLessThanOrEqual(300);
    expect(p.messages[0]!.content).toMatch(
      /^Summarize the last \d+ messages of this conversation, oldest first:\n/,
    );
    expect(p.messages[0]!.content).toContain('message number 99');
    expect(p.system).toContain('summarize');
    const unread = buildSummaryPrompt({
      persona,
      requester: 'carol',
      lines: lines(3),
      unread: true,
      budget: 1000,
    })!;
    expect(unread.messages[0]!.content.startsWith('Summarize the 3 messages carol has not seen yet')).toBe(
      true,
    );
    expect(
      buildSummaryPrompt({ persona, requester: 'c', lines: [], unread: false, budget: 1000 }),
    ).toBeUndefined();
  });
});

describe('buildTranslatePrompt', () => {
  it('asks for the translation only', () => {
    const p = buildTranslatePrompt({ persona, language: 'French', text: 'Good night' });
    expect(p.messages).toEqual([{ role: 'user', content: 'Translate into French:\n\nGood night' }]);
    expect(p.system).toContain('translation only');
  });
});
