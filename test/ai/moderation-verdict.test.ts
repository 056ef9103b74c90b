import { describe, expect, it } from 'vitest';
import { parseVerdict } from '../../src/ai/llm-moderation.js';

describe('parseVerdict', () => {
  it('reads the JSON verdict, with categories and reason', () => {
    expect(parseVerdict('{"allowed": false, "categories": ["hate", 3, ""], "reason": " Slur "}')).toEqual({
      allowed: false,
      categories: ['hate'],
      reason: 'Slur',
    });
    expect(parseVerdict('{"allowed": true, "categories": [], "reason": ""}')).toEqual({ allowed: true });
  });

  it('tolerates code fences, prose around the JSON and braces inside strings', () => {
    expect(parseVerdict('Sure!\n```json\n{"allowed": false, "reason": "a {weird} one"}\n```')).toEqual({
      allowed: false,
      reason: 'a {weird} one',
    });
    expect(parseVerdict('Thinking {not json} then {"allowed":"yes"}')).toEqual({ allowed: true });
  });

  it('understands flagged/blocked/verdict spellings and bare words', () => {
    expect(parseVerdict('{"flagged": true, "categories": ["spam"]}')).toEqual({
      allowed: false,
      categories: ['spam'],
    });
    expect(parseVerdict('{"blocked": "false"}')).toEqual({ allowed: true });
    expect(parseVerdict('{"verdict": "block"}')).toEqual({ allowed: false });
    expect(parseVerdict('ALLOWED')).toEqual({ allowed: true });
    expect(parseVerdict('Blocked: harassment')).toEqual({ allowed: false });
  });

  it('throws when the answer holds no verdict (the local filter then decides)', () => {
    expect(() => parseVerdict('I am not sure.')).toThrow(/no verdict/);
    expect(() => parseVerdict('{"score": 0.3}')).toThrow(/no verdict/);
    expect(() => parseVerdict('')).toThrow(/no verdict/);
  });
});
