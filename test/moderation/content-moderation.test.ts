import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AiModerationHook, ModerationVerdict } from '../../src/moderation/ai-moderation.js';
import { ContentFilter } from '../../src/moderation/content-filter.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { expectError, expectOk, history, join, newUsers } from '../http/http-helpers.js';
import { closeAll, is, live } from '../realtime/ws-client.js';

describe('ContentFilter', () => {
  const filter = new ContentFilter();
  it('finds listed words through repeated letters, leetspeak and look-alike characters', () => {
    expect(filter.check('what the fuck').words).toEqual(['fuck']);
    expect(filter.check('fuuuuuck this').words).toEqual(['fuck']);
    expect(filter.check('you b1tch').words).toEqual(['bitch']);
  });
  it('leaves ordinary text alone, including words that merely contain a listed one', () => {
    for (const text of [
      'Scunthorpe United won',
      'an assassin in the classics class',
      'Grüße aus Köln',
      '東京で会いましょう',
    ]) {
      expect(filter.check(text).words).toEqual([]);
    }
  });
});

/**
 * The strict level's seam: the AI assistant (issue 6) plugs an LLM classifier in here. This one
 * decides by keyword and records what it was asked, so the tests can see when it is consulted.
 */
class KeywordClassifier implements AiModerationHook {
  readonly seen: string[] = [];
  failNext = false;
  async classify(text: string): Promise<ModerationVerdict> {
    this.seen.push(text);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('provider down');
    }
    return text.includes('buy crypto')
      ? { allowed: false, reason: 'Looks like spam', categories: ['spam'] }
      : { allowed: true };
  }
}

for (const backend of await availableBackends()) {
  describe(`moderation levels (${backend})`, () => {
    let t: TestApp;
    const classifier = new KeywordClassifier();
    beforeAll(async () => {
      t = await startTestApp(backend, {}, { aiModeration: classifier });
    });
    afterAll(() => t.close());

    const post = (u: TestUser, roomId: string, body: Record<string, unknown>) =>
      t.api('POST', `/v1/chat/rooms/${roomId}/messages`, { token: u.token, body });
    async function roomAt(level: string, extra: Record<string, unknown> = {}) {
      const [owner, bob] = await newUsers(t, 2);
      const room = await t.newRoom(owner, { settings: { moderationLevel: level, ...extra } });
      await join(t, bob, room.roomId);
      return { owner, bob, roomId: room.roomId as string };
    }

    it('none: lets everything through and never asks the classifier', async () => {
      const { bob, roomId } = await roomAt('none');
      const before = classifier.seen.length;
      expectOk(await post(bob, roomId, { content: 'what the fuck' }), 201);
      expectOk(await post(bob, roomId, { content: 'buy crypto now' }), 201);
      expect(classifier.seen.length).toBe(before);
    });

    it('basic: blocks profanity with CONTENT_BLOCKED (422) naming the words, stores nothing', async () => {
      const { bob, roomId } = await roomAt('basic');
      const r = await post(bob, roomId, { content: 'this is fuuucking broken' });
      expectError(r, 422, 'CONTENT_BLOCKED');
      expect(r.body.error.details).toMatchObject({ level: 'basic', source: 'filter', words: ['fuck'] });
      expect(await history(t, bob, roomId)).toEqual([]);
      expectOk(await post(bob, roomId, { content: 'this is broken' }), 201);
      // basic does not consult the AI classifier.
      expectOk(await post(bob, roomId, { content: 'buy crypto now' }), 201);
    });

    it('basic: edits, anonymous aliases and poll options are filtered too', async () => {
      const { bob, roomId } = await roomAt('basic', { allowAnonymous: true });
      const m = expectOk(await post(bob, roomId, { content: 'fine words' }), 201);
      expectError(
        await t.api('PATCH', `/v1/chat/rooms/${roomId}/messages/${m.messageId}`, {
          token: bob.token,
          body: { content: 'shit words' },
        }),
        422,
        'CONTENT_BLOCKED',
      );
      expectError(
        await post(bob, roomId, { content: 'hello', isAnonymous: true, anonymousName: 'Big Dick' }),
        422,
        'CONTENT_BLOCKED',
      );
      expectError(
        await t.api('POST', `/v1/chat/rooms/${roomId}/polls`, {
          token: bob.token,
          body: { question: 'Lunch?', options: ['pizza', 'fucking sushi'] },
        }),
        422,
        'CONTENT_BLOCKED',
      );
      expect((await history(t, bob, roomId)).map((x) => x.content)).toEqual(['fine words']);
    });

    it('strict: the local filter is the floor, then the AI classifier decides', async () => {
      const { bob, roomId } = await roomAt('strict');
      const before = classifier.seen.length;
      expectError(await post(bob, roomId, { content: 'fuck' }), 422, 'CONTENT_BLOCKED');
      // Text the local filter refuses is not sent to the model.
      expect(classifier.seen.length).toBe(before);
      const spam = await post(bob, roomId, { content: 'buy crypto now!!!' });
      expectError(spam, 422, 'CONTENT_BLOCKED');
      expect(spam.body.error).toMatchObject({
        message: 'Looks like spam',
        details: { level: 'strict', source: 'ai', categories: ['spam'] },
      });
      expectOk(await post(bob, roomId, { content: 'good morning' }), 201);
      expect(classifier.seen.slice(before)).toEqual(['buy crypto now!!!', 'good morning']);
      expect((await history(t, bob, roomId)).map((x) => x.content)).toEqual(['good morning']);
    });

    it('strict: a failing classifier lets the message through on the local filter alone', async () => {
      const { bob, roomId } = await roomAt('strict');
      classifier.failNext = true;
      expectOk(await post(bob, roomId, { content: 'still works' }), 201);
      expectError(await post(bob, roomId, { content: 'shit' }), 422, 'CONTENT_BLOCKED');
    });

    it('over WebSocket the refusal is an error frame with the same code', async () => {
      const { bob, roomId } = await roomAt('basic');
      const ws = await live(t, bob);
      try {
        ws.send({ type: 'send_message', id: 'm1', roomId, content: 'fuck' });
        const err = await ws.next(is('error', { id: 'm1' }));
        expect(err.code).toBe('CONTENT_BLOCKED');
      } finally {
        await closeAll([ws]);
      }
    });

    it('changing the level is a room admin setting', async () => {
      const { owner, bob, roomId } = await roomAt('none');
      expectError(
        await t.api('PATCH', `/v1/chat/rooms/${roomId}`, {
          token: bob.token,
          body: { settings: { moderationLevel: 'basic' } },
        }),
        403,
        'FORBIDDEN',
      );
      expectOk(
        await t.api('PATCH', `/v1/chat/rooms/${roomId}`, {
          token: owner.token,
          body: { settings: { moderationLevel: 'basic' } },
        }),
      );
      expectError(await post(bob, roomId, { content: 'fuck' }), 422, 'CONTENT_BLOCKED');
    });
  });
}
