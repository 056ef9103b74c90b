import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { expectError, expectOk, join, newUsers, send } from '../http/http-helpers.js';

/** A word no other test uses, so tests sharing a server only ever find their own messages. */
let wordCounter = 0;
const uniqueWord = () => `kw${(++wordCounter).toString(36)}${Math.random().toString(36).slice(2, 8)}`;

for (const backend of await availableBackends()) {
  describe(`message search (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    const users = (n: number) => newUsers(t, n);

    function searchRaw(user: TestUser, params: Record<string, string | number | boolean>) {
      const qs = new URLSearchParams(
        Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
      );
      return t.api('GET', `/v1/chat/search?${qs}`, { token: user.token });
    }
    async function search(user: TestUser, params: Record<string, string | number | boolean>) {
      return expectOk(await searchRaw(user, params));
    }
    /** Contents of the results, best first. */
    async function found(user: TestUser, q: string, extra: Record<string, string | number | boolean> = {}) {
      const data = await search(user, { q, ...extra });
      return data.results.map((r: any) => r.message.content as string);
    }
    async function roomWith(owner: TestUser, ...others: TestUser[]) {
      const room = await t.newRoom(owner);
      for (const u of others) await join(t, u, room.roomId);
      return room;
    }

    describe('matching', () => {
      it('finds messages by word, all words required', async () => {
        const [alice] = await users(1);
        const room = await roomWith(alice);
        const w = uniqueWord();
        await send(t, alice, room.roomId, `The quick brown fox ${w}`);
        await send(t, alice, room.roomId, `A lazy dog ${w}`);
        expect(await found(alice, `fox ${w}`)).toEqual([`The quick brown fox ${w}`]);
        expect(await found(alice, `${w} FOX`)).toEqual([`The quick brown fox ${w}`]);
        expect((await found(alice, w)).sort()).toEqual([`A lazy dog ${w}`, `The quick brown fox ${w}`]);
        expect(await found(alice, `fox dog ${w}`)).toEqual([]);
      });

      it('answers the message view with author and room', async () => {
        const [alice] = await users(1);
        const room = await roomWith(alice);
        const w = uniqueWord();
        const sent = await send(t, alice, room.roomId, `view check ${w}`);
        const data = await search(alice, { q: w });
        expect(data.results).toHaveLength(1);
        const { seq, messageId, roomId, authorId, content, isDeleted } = data.results[0].message;
        expect({ seq, messageId, roomId, authorId, content, isDeleted }).toEqual({
          seq: sent.seq,
          messageId: sent.messageId,
          roomId: room.roomId,
          authorId: alice.userId,
          content: `view check ${w}`,
          isDeleted: false,
        });
        expect(data.results[0].message.authorName).toEqual(sent.authorName);
        expect(data.results[0].rank).toEqual(expect.any(Number));
        expect(data.pagination).toEqual({ limit: 20, offset: 0, hasMore: false });
      });

      it('matches "quoted phrases" only in that order', async () => {
        const [alice] = await users(1);
        const room = await roomWith(alice);
        const w = uniqueWord();
        await send(t, alice, room.roomId, `deploy the brown fox ${w}`);
        await send(t, alice, room.roomId, `the fox is brown ${w}`);
        expect(await found(alice, `"brown fox" ${w}`)).toEqual([`deploy the brown fox ${w}`]);
        expect((await found(alice, `brown fox ${w}`)).length).toBe(2);
        // Punctuation inside a word makes it a phrase of its parts, as the index sees it.
        await send(t, alice, room.roomId, `write an e-mail to ops@example.com ${w}`);
        expect(await found(alice, `email ${w}`)).toEqual([]);
        expect(await found(alice, `e-mail ${w}`)).toEqual([`write an e-mail to ops@example.com ${w}`]);
        expect(await found(alice, `example ${w}`)).toEqual([`write an e-mail to ops@example.com ${w}`]);
      });

      it('ignores case and accents both ways', async () => {
        const [alice] = await users(1);
        const room = await roomWith(alice);
        const [w1, w2, w3] = [uniqueWord(), uniqueWord(), uniqueWord()];
        await send(t, alice, room.roomId, `Un CAFÉ crème, s'il vous plaît ${w1}`);
        await send(t, alice, room.roomId, `cafe creme ${w2}`);
        await send(t, alice, room.roomId, `Ñandú in São Paulo, naïve façade ${w3}`);
        expect(await found(alice, `cafe ${w1}`)).toHaveLength(1);
        expect(await found(alice, `Café ${w1}`)).toHaveLength(1);
        expect(await found(alice, `"café crème" ${w1}`)).toHaveLength(1);
        expect(await found(alice, `café ${w2}`)).toHaveLength(1);
        expect(await found(alice, `CRÈME ${w2}`)).toHaveLength(1);
        expect(await found(alice, `nandu sao paulo naive facade ${w3}`)).toHaveLength(1);
        // A decomposed é (e + U+0301) is the same letter.
        expect(await found(alice, `cafe\u0301 ${w1}`)).toHaveLength(1);
      });

      it('finds Cyrillic and Greek words, case-insensitively', async () => {
        const [alice] = await users(1);
        const room = await roomWith(alice);
        const w = uniqueWord();
        await send(t, alice, room.roomId, `Привет, мир! Как дела? ${w}`);
        await send(t, alice, room.roomId, `Καλημέρα κόσμε, ο λόγος ${w}`);
        expect(await found(alice, `привет ${w}`)).toEqual([`Привет, мир! Как дела? ${w}`]);
        expect(await found(alice, `МИР ${w}`)).toEqual([`Привет, мир! Как дела? ${w}`]);
        expect(await found(alice, `"как дела" ${w}`)).toEqual([`Привет, мир! Как дела? ${w}`]);
        expect(await found(alice, `καλημέρα ${w}`)).toEqual([`Καλημέρα κόσμε, ο λόγος ${w}`]);
        expect(await found(alice, `ΚΌΣΜΕ ${w}`)).toEqual([`Καλημέρα κόσμε, ο λόγος ${w}`]);
        // Final sigma and capital sigma are one letter.
        expect(await found(alice, `ΛΌΓΟΣ ${w}`)).toEqual([`Καλημέρα κόσμε, ο λόγος ${w}`]);
        expect(await found(alice, `дела мир привет пока ${w}`)).toEqual([]);
      });

      it('finds Chinese, Japanese and Korean text by substring', async () => {
        const [alice] = await users(1);
        const room = await roomWith(alice);
        const w = uniqueWord();
        await send(t, alice, room.roomId, `我住在東京都 ${w}`);
        await send(t, alice, room.roomId, `東京タワーに行きました ${w}`);
        await send(t, alice, room.roomId, `서울에서 만나요 ${w}`);
        await send(t, alice, room.roomId, `ไปกินข้าวกันไหม ${w}`);
        // Two characters: shorter than a trigram.
        expect((await found(alice, `東京 ${w}`)).sort()).toEqual(
          [`我住在東京都 ${w}`, `東京タワーに行きました ${w}`].sort(),
        );
        // Three or more: the trigram index (SQLite) or ILIKE with pg_trgm (PostgreSQL).
        expect(await found(alice, `東京都 ${w}`)).toEqual([`我住在東京都 ${w}`]);
        expect(await found(alice, `住在東京 ${w}`)).toEqual([`我住在東京都 ${w}`]);
        expect(await found(alice, `タワー ${w}`)).toEqual([`東京タワーに行きました ${w}`]);
        expect(await found(alice, `서울 ${w}`)).toEqual([`서울에서 만나요 ${w}`]);
        expect(await found(alice, `กินข้าว ${w}`)).toEqual([`ไปกินข้าวกันไหม ${w}`]);
        expect(await found(alice, `大阪 ${w}`)).toEqual([]);
        expect(await found(alice, `東京都庁 ${w}`)).toEqual([]);
        // Without any other word, too.
        expect(await found(alice, '住在東京都')).toContain(`我住在東京都 ${w}`);
        expect(await found(alice, '在東', { roomId: room.roomId })).toEqual([`我住在東京都 ${w}`]);
        // Mixed with a phrase: the CJK part is a substring, the rest words.
        expect(await found(alice, `"東京 ${w}"`)).toHaveLength(2);
      });
    });

    describe('keeping the index in step', () => {
      it('an edit is found by its new text only', async () => {
        const [alice] = await users(1);
        const room = await roomWith(alice);
        const [w1, w2] = [uniqueWord(), uniqueWord()];
        const m = await send(t, alice, room.roomId, `first draft ${w1} 東京都`);
        expect(await found(alice, w1)).toHaveLength(1);
        expectOk(
          await t.api('PATCH', `/v1/chat/rooms/${room.roomId}/messages/${m.messageId}`, {
            token: alice.token,
            body: { content: `second draft ${w2} 大阪府` },
          }),
        );
        expect(await found(alice, w1)).toEqual([]);
        expect(await found(alice, `東京都 draft`, { roomId: room.roomId })).toEqual([]);
        expect(await found(alice, w2)).toEqual([`second draft ${w2} 大阪府`]);
        expect(await found(alice, `大阪府 ${w2}`)).toEqual([`second draft ${w2} 大阪府`]);
        const data = await search(alice, { q: w2 });
        expect(data.results[0].message.isEdited).toBe(true);
      });

      it('a deleted message is never found', async () => {
        const [alice] = await users(1);
        const room = await roomWith(alice);
        const w = uniqueWord();
        const m = await send(t, alice, room.roomId, `soon gone ${w} 東京都`);
        await send(t, alice, room.roomId, `stays ${w}`);
        expect(await found(alice, w)).toHaveLength(2);
        expectOk(
          await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/messages/${m.messageId}`, {
            token: alice.token,
          }),
        );
        expect(await found(alice, w)).toEqual([`stays ${w}`]);
        expect(await found(alice, `gone ${w}`)).toEqual([]);
        expect(await found(alice, '東京都', { roomId: room.roomId })).toEqual([]);
        expect(await found(alice, '東京', { roomId: room.roomId })).toEqual([]);
      });

      it('pins and reactions do not disturb the index', async () => {
        const [alice] = await users(1);
        const room = await roomWith(alice);
        const w = uniqueWord();
        const m = await send(t, alice, room.roomId, `pin me ${w}`);
        const path = `/v1/chat/rooms/${room.roomId}/messages/${m.messageId}`;
        expectOk(await t.api('PUT', `${path}/pin`, { token: alice.token }));
        expectOk(await t.api('PUT', `${path}/reactions/${encodeURIComponent('👍')}`, { token: alice.token }));
        const data = await search(alice, { q: w });
        expect(data.results).toHaveLength(1);
        expect(data.results[0].message).toMatchObject({
          isPinned: true,
          reactions: { '👍': [alice.userId] },
        });
      });
    });

    describe('access', () => {
      it("never shows other people's private, group or direct rooms", async () => {
        const [alice, bob, carol] = await users(3);
        const w = uniqueWord();
        const priv = await t.newRoom(carol, { type: 'private' });
        await send(t, carol, priv.roomId, `secret plan ${w}`);
        const group = await t.newRoom(carol, { type: 'group' });
        await send(t, carol, group.roomId, `group chat ${w}`);
        expectOk(
          await t.api('POST', `/v1/chat/direct/${bob.userId}/messages`, {
            token: carol.token,
            body: { content: `direct note ${w}` },
          }),
          201,
        );
        const none = await search(alice, { q: w });
        expect(none).toEqual({ results: [], pagination: { limit: 20, offset: 0, hasMore: false } });
        expect(await found(alice, `secret plan ${w}`, { limit: 1 })).toEqual([]);
        expectError(await searchRaw(alice, { q: w, roomId: priv.roomId }), 404, 'ROOM_NOT_FOUND');
        expectError(await searchRaw(alice, { q: `in:${priv.roomId} ${w}` }), 404, 'ROOM_NOT_FOUND');
        expectError(await searchRaw(alice, { q: w, roomId: 'room_missing' }), 404, 'ROOM_NOT_FOUND');
        // Members see their own rooms.
        expect(await found(bob, w)).toEqual([`direct note ${w}`]);
        expect((await found(carol, w)).sort()).toEqual(
          [`direct note ${w}`, `group chat ${w}`, `secret plan ${w}`].sort(),
        );
      });

      it('public and announcement rooms are searchable without joining', async () => {
        const [alice, bob] = await users(2);
        const w = uniqueWord();
        const pub = await t.newRoom(alice);
        const ann = await t.newRoom(alice, { type: 'announcement' });
        await send(t, alice, pub.roomId, `public news ${w}`);
        await send(t, alice, ann.roomId, `announced ${w}`);
        expect((await found(bob, w)).sort()).toEqual([`announced ${w}`, `public news ${w}`]);
      });

      it('a banned user sees nothing of the room', async () => {
        const [alice, bob] = await users(2);
        const w = uniqueWord();
        const room = await roomWith(alice, bob);
        const other = await roomWith(alice, bob);
        await send(t, alice, room.roomId, `before the ban ${w}`);
        await send(t, alice, other.roomId, `elsewhere ${w}`);
        expect(await found(bob, w)).toHaveLength(2);
        expectOk(
          await t.api('POST', `/v1/chat/rooms/${room.roomId}/bans`, {
            token: alice.token,
            body: { userId: bob.userId },
          }),
        );
        expect(await found(bob, w)).toEqual([`elsewhere ${w}`]);
        expectError(await searchRaw(bob, { q: w, roomId: room.roomId }), 403, 'BANNED');
        expectError(await searchRaw(bob, { q: `in:${room.roomId} ${w}` }), 403, 'BANNED');
      });
    });

    describe('filters', () => {
      it('by room (roomId or in:)', async () => {
        const [alice] = await users(1);
        const w = uniqueWord();
        const r1 = await roomWith(alice);
        const r2 = await roomWith(alice);
        await send(t, alice, r1.roomId, `one ${w}`);
        await send(t, alice, r2.roomId, `two ${w}`);
        expect(await found(alice, w, { roomId: r1.roomId })).toEqual([`one ${w}`]);
        expect(await found(alice, `${w} in:${r2.roomId}`)).toEqual([`two ${w}`]);
        expect(await found(alice, `in:${r2.roomId} ${w}`, { roomId: r2.roomId })).toEqual([`two ${w}`]);
        expectError(
          await searchRaw(alice, { q: `in:${r2.roomId} ${w}`, roomId: r1.roomId }),
          400,
          'VALIDATION_FAILED',
        );
        // in: alone lists the room, newest first.
        expect(await found(alice, `in:${r1.roomId}`)).toContain(`one ${w}`);
      });

      it('by author (authorId or from:username)', async () => {
        const [alice, bob] = await users(2);
        const w = uniqueWord();
        const room = await roomWith(alice, bob);
        await send(t, alice, room.roomId, `alice says ${w}`);
        await send(t, bob, room.roomId, `bob says ${w}`);
        expect(await found(alice, w, { authorId: bob.userId })).toEqual([`bob says ${w}`]);
        expect(await found(alice, `from:${alice.username} ${w}`)).toEqual([`alice says ${w}`]);
        expect(await found(alice, `${w} from:@${bob.username.toUpperCase()}`)).toEqual([`bob says ${w}`]);
        expect(await found(alice, `from:nobody_here_${w} ${w}`)).toEqual([]);
        expect(await found(alice, `from:${alice.username} ${w}`, { authorId: bob.userId })).toEqual([]);
      });

      it('by date', async () => {
        const [alice] = await users(1);
        const w = uniqueWord();
        const room = await roomWith(alice);
        const m = await send(t, alice, room.roomId, `dated ${w}`);
        const at = Date.parse(m.timestamp);
        const iso = (ms: number) => new Date(ms).toISOString();
        expect(await found(alice, w, { from: iso(at), to: iso(at) })).toHaveLength(1);
        expect(await found(alice, w, { from: iso(at + 1) })).toEqual([]);
        expect(await found(alice, w, { to: iso(at - 1) })).toEqual([]);
        const day = m.timestamp.slice(0, 10);
        expect(await found(alice, w, { from: day, to: day })).toHaveLength(1);
        expect(await found(alice, w, { to: '2000-01-01' })).toEqual([]);
        expectError(
          await searchRaw(alice, { q: w, from: iso(at + 1000), to: iso(at) }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(await searchRaw(alice, { q: w, from: 'yesterday' }), 400, 'VALIDATION_FAILED');
      });

      it('by attachment (hasAttachment or has:attachment)', async () => {
        const [alice] = await users(1);
        const w = uniqueWord();
        const room = await roomWith(alice);
        const withFile = await send(t, alice, room.roomId, `see attached ${w}`);
        await send(t, alice, room.roomId, `no file ${w}`);
        const attachment = {
          id: 'att_1',
          type: 'file',
          url: 'https://files.example/report.pdf',
          fileName: 'report.pdf',
          fileSize: 1234,
          mimeType: 'application/pdf',
        };
        await t.sb.store.repos.messages.update(withFile.messageId, {
          attachments: JSON.stringify([attachment]),
        });
        expect(await found(alice, w, { hasAttachment: true })).toEqual([`see attached ${w}`]);
        expect(await found(alice, `has:attachment ${w}`)).toEqual([`see attached ${w}`]);
        expect(await found(alice, w, { hasAttachment: false })).toEqual([`no file ${w}`]);
        expect(await found(alice, `has:attachment ${w}`, { hasAttachment: false })).toEqual([]);
        const data = await search(alice, { q: `${w} has:attachment` });
        expect(data.results[0].message.attachments).toEqual([attachment]);
        expect(await found(alice, 'has:attachment', { roomId: room.roomId })).toEqual([`see attached ${w}`]);
      });
    });

    describe('ranking, highlights, pages', () => {
      it('puts the better match first, newest first among equals', async () => {
        const [alice] = await users(1);
        const w = uniqueWord();
        const room = await roomWith(alice);
        await send(
          t,
          alice,
          room.roomId,
          `a long message that mentions ${w} only once among a great many other unrelated words here`,
        );
        await send(t, alice, room.roomId, `${w} ${w} ${w} release`);
        await send(t, alice, room.roomId, `same text ${w} release notes`);
        await send(t, alice, room.roomId, `same text ${w} release notes`);
        const data = await search(alice, { q: w });
        expect(data.results.map((r: any) => r.message.content)).toEqual([
          `${w} ${w} ${w} release`,
          `same text ${w} release notes`,
          `same text ${w} release notes`,
          `a long message that mentions ${w} only once among a great many other unrelated words here`,
        ]);
        const ranks = data.results.map((r: any) => r.rank);
        expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
        expect(ranks[0]).toBeGreaterThan(ranks[3]);
        // Equal matches: newest first.
        expect(data.results[1].message.seq).toBeGreaterThan(data.results[2].message.seq);
      });

      it('marks matched terms and escapes HTML', async () => {
        const [alice] = await users(1);
        const w = uniqueWord();
        const room = await roomWith(alice);
        await send(t, alice, room.roomId, `<script>alert("x")</script> Café & «quotes» ${w} 東京都`);
        const data = await search(alice, { q: `cafe ${w} 東京` });
        const h: string = data.results[0].highlight;
        expect(h).toBe(
          `&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; «Café» &amp; &#171;quotes&#187; «${w}» «東京»都`,
        );
        expect(h).not.toMatch(/<|>/);
        // The message itself is returned as stored.
        expect(data.results[0].message.content).toContain('<script>');
      });

      it('cuts long messages around the first match', async () => {
        const [alice] = await users(1);
        const w = uniqueWord();
        const room = await roomWith(alice);
        const filler = 'lorem ipsum dolor sit amet '.repeat(30);
        await send(t, alice, room.roomId, `${filler}${w} ${filler}`);
        const [r] = (await search(alice, { q: w })).results;
        expect(r.highlight).toMatch(new RegExp(`^…[a-z ]+«${w}»[a-z ]+…$`));
        expect(r.highlight.length).toBeLessThan(320);
      });

      it('pages with limit and offset', async () => {
        const [alice] = await users(1);
        const w = uniqueWord();
        const room = await roomWith(alice);
        for (let i = 0; i < 5; i++) await send(t, alice, room.roomId, `page item ${i} ${w}`);
        const p1 = await search(alice, { q: w, limit: 2 });
        const p2 = await search(alice, { q: w, limit: 2, offset: 2 });
        const p3 = await search(alice, { q: w, limit: 2, offset: 4 });
        expect(p1.pagination).toEqual({ limit: 2, offset: 0, hasMore: true });
        expect(p2.pagination).toEqual({ limit: 2, offset: 2, hasMore: true });
        expect(p3.pagination).toEqual({ limit: 2, offset: 4, hasMore: false });
        const all = [...p1.results, ...p2.results, ...p3.results].map((r: any) => r.message.content);
        expect(all).toEqual([4, 3, 2, 1, 0].map((i) => `page item ${i} ${w}`));
        expect((await search(alice, { q: w, offset: 5 })).results).toEqual([]);
      });
    });

    describe('bad input', () => {
      it('rejects missing, empty, blank, too long and wordless queries with 400', async () => {
        const [alice] = await users(1);
        const bad = async (params: Record<string, string | number>) =>
          expectError(await searchRaw(alice, params as any), 400, 'VALIDATION_FAILED');
        expectError(await t.api('GET', '/v1/chat/search', { token: alice.token }), 400, 'VALIDATION_FAILED');
        await bad({ q: '' });
        await bad({ q: '   ' });
        await bad({ q: 'x'.repeat(201) });
        await bad({ q: '"' });
        await bad({ q: '""' });
        await bad({ q: '*' });
        await bad({ q: '( ) - + ^ : *' });
        await bad({ q: 'has:everything' });
        await bad({ q: 'hello in:room\u0000x' });
        await bad({ q: 'hello from:a\u0000b' });
        await bad({ q: 'hello', roomId: 'room\u0000' });
        await bad({ q: 'hello', authorId: '../x' });
        await bad({ q: 'hello', limit: 51 });
        await bad({ q: 'hello', limit: 0 });
        await bad({ q: 'hello', offset: -1 });
        await bad({ q: Array.from({ length: 17 }, (_, i) => `w${i}`).join(' ') });
        expect((await searchRaw(alice, { q: 'x'.repeat(200) })).status).toBe(200);
      });

      it('treats search-engine syntax as plain text: never a 500', async () => {
        const [alice] = await users(1);
        const w = uniqueWord();
        const room = await roomWith(alice);
        await send(t, alice, room.roomId, `near the OR gate ${w}`);
        const queries = [
          'OR',
          'AND',
          'NOT',
          'NEAR(',
          `NEAR(${w} gate, 2)`,
          `${w}*`,
          `^${w}`,
          `"${w}`,
          `${w}"`,
          `content:${w}`,
          `{content} : ${w}`,
          `${w} OR gate`,
          `${w} -gate`,
          `'${w}' \\ ; -- drop table messages`,
          `%${w}%`,
          `_${w}_`,
          `東京"*`,
          '\u0000',
          '\u0301',
          '🙂',
          `${w} ${'NEAR('.repeat(10)}`,
        ];
        for (const q of queries) {
          const r = await searchRaw(alice, { q });
          expect([200, 400], `q=${JSON.stringify(q)}: ${JSON.stringify(r.body)}`).toContain(r.status);
        }
        expect(await found(alice, `NEAR( ${w}`)).toEqual([`near the OR gate ${w}`]);
        expect(await found(alice, `${w} OR gate`)).toEqual([`near the OR gate ${w}`]);
        expect(await found(alice, `"${w}`)).toEqual([`near the OR gate ${w}`]);
        expect(await found(alice, `${w}*`)).toEqual([`near the OR gate ${w}`]);
        expect(await found(alice, `%${w}%`)).toEqual([`near the OR gate ${w}`]);
      });

      it('requires a token', async () => {
        expectError(await t.api('GET', '/v1/chat/search?q=hello'), 401, 'UNAUTHENTICATED');
      });
    });
  });
}
