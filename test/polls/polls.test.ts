import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { events, expectError, expectOk, history, join, newUsers, setRole } from '../http/http-helpers.js';

for (const backend of await availableBackends()) {
  describe(`polls API (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    async function roomWith(owner: TestUser, ...others: TestUser[]) {
      const room = await t.newRoom(owner);
      for (const u of others) await join(t, u, room.roomId);
      return room;
    }
    const pollsPath = (roomId: string) => `/v1/chat/rooms/${roomId}/polls`;
    async function createPoll(user: TestUser, roomId: string, body: Record<string, unknown> = {}) {
      const r = await t.api('POST', pollsPath(roomId), {
        token: user.token,
        body: { question: 'Lunch?', options: ['Pizza', 'Sushi', 'Tacos'], ...body },
      });
      return expectOk(r, 201);
    }
    const vote = (user: TestUser, roomId: string, messageId: string, optionIds: string[]) =>
      t.api('PUT', `${pollsPath(roomId)}/${messageId}/votes`, { token: user.token, body: { optionIds } });
    const getPoll = (user: TestUser, roomId: string, messageId: string) =>
      t.api('GET', `${pollsPath(roomId)}/${messageId}`, { token: user.token });
    const counts = (poll: any) => poll.options.map((o: any) => o.votes);

    it('creates a poll message with options', async () => {
      const [alice] = await newUsers(t, 1);
      const room = await roomWith(alice);
      const { message, poll } = await createPoll(alice, room.roomId);
      expect(message).toMatchObject({ type: 'poll', content: 'Lunch?', authorId: alice.userId });
      expect(poll).toMatchObject({
        question: 'Lunch?',
        options: [
          { id: 'opt1', text: 'Pizza', votes: 0 },
          { id: 'opt2', text: 'Sushi', votes: 0 },
          { id: 'opt3', text: 'Tacos', votes: 0 },
        ],
        totalVoters: 0,
        closed: false,
        multipleChoice: false,
        anonymous: false,
        myVotes: [],
      });
      const msgs = await history(t, alice, room.roomId);
      expect(msgs.at(-1)).toMatchObject({ messageId: message.messageId, type: 'poll' });
    });

    it('votes, changes and retracts; logs poll_updated with counts', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await roomWith(alice, bob);
      const { message } = await createPoll(alice, room.roomId);
      const id = message.messageId;
      const head = message.seq;

      let poll = expectOk(await vote(bob, room.roomId, id, ['opt1']));
      expect(counts(poll)).toEqual([1, 0, 0]);
      expect(poll.myVotes).toEqual(['opt1']);
      expect(poll.options[0].voters).toEqual([bob.userId]);
      poll = expectOk(await vote(alice, room.roomId, id, ['opt1']));
      expect(poll).toMatchObject({ totalVoters: 2, myVotes: ['opt1'] });

      poll = expectOk(await vote(bob, room.roomId, id, ['opt2']));
      expect(counts(poll)).toEqual([1, 1, 0]);
      expect(poll.myVotes).toEqual(['opt2']);

      poll = expectOk(await vote(bob, room.roomId, id, []));
      expect(counts(poll)).toEqual([1, 0, 0]);
      expect(poll).toMatchObject({ totalVoters: 1, myVotes: [] });

      // Same choice again: nothing changes, nothing logged.
      expectOk(await vote(alice, room.roomId, id, ['opt1']));
      // Single choice refuses two ids.
      expectError(await vote(bob, room.roomId, id, ['opt1', 'opt2']), 400, 'VALIDATION_FAILED');

      const evs = (await events(t, alice, room.roomId, head)).filter((e) => e.type === 'poll_updated');
      expect(evs.map((e) => counts(e.poll))).toEqual([
        [1, 0, 0],
        [2, 0, 0],
        [1, 1, 0],
        [1, 0, 0],
      ]);
      expect(evs[0]).toMatchObject({ messageId: id, actorId: bob.userId, poll: { totalVoters: 1 } });
      expect(evs[0].poll.myVotes).toBeUndefined();

      const seen = expectOk(await getPoll(alice, room.roomId, id));
      expect(seen).toMatchObject({ totalVoters: 1, myVotes: ['opt1'] });
    });

    it('multiple choice allows several and none', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await roomWith(alice, bob);
      const { message } = await createPoll(alice, room.roomId, { multipleChoice: true });
      let poll = expectOk(await vote(bob, room.roomId, message.messageId, ['opt1', 'opt3']));
      expect(counts(poll)).toEqual([1, 0, 1]);
      expect(poll).toMatchObject({ totalVoters: 1, multipleChoice: true });
      expect([...poll.myVotes].sort()).toEqual(['opt1', 'opt3']);
      poll = expectOk(await vote(alice, room.roomId, message.messageId, ['opt1', 'opt2', 'opt3']));
      expect(counts(poll)).toEqual([2, 1, 2]);
      expect(poll.totalVoters).toBe(2);
      poll = expectOk(await vote(bob, room.roomId, message.messageId, []));
      expect(counts(poll)).toEqual([1, 1, 1]);
    });

    it('close: author or moderator; a closed poll refuses votes', async () => {
      const [alice, bob, carol, mod] = await newUsers(t, 4);
      const room = await roomWith(alice, bob, carol, mod);
      await setRole(t, alice, room.roomId, mod, 'moderator');
      const { message } = await createPoll(bob, room.roomId);
      const id = message.messageId;
      expectOk(await vote(carol, room.roomId, id, ['opt2']));
      const closePath = `${pollsPath(room.roomId)}/${id}/close`;
      expectError(await t.api('POST', closePath, { token: carol.token }), 403, 'FORBIDDEN');
      const closed = expectOk(await t.api('POST', closePath, { token: bob.token }));
      expect(closed).toMatchObject({ closed: true, totalVoters: 1 });
      // Idempotent for a moderator too.
      expectOk(await t.api('POST', closePath, { token: mod.token }));
      expectError(await vote(carol, room.roomId, id, ['opt1']), 409, 'POLL_CLOSED');
      expectError(await vote(carol, room.roomId, id, []), 409, 'POLL_CLOSED');
      const poll = expectOk(await getPoll(carol, room.roomId, id));
      expect(poll).toMatchObject({ closed: true, myVotes: ['opt2'] });
      const evs = (await events(t, alice, room.roomId, message.seq)).filter((e) => e.type === 'poll_updated');
      expect(evs).toHaveLength(2);
      expect(evs[1]).toMatchObject({ actorId: bob.userId, poll: { closed: true } });

      // A moderator may close someone else's poll.
      const other = await createPoll(bob, room.roomId);
      expectOk(
        await t.api('POST', `${pollsPath(room.roomId)}/${other.message.messageId}/close`, {
          token: mod.token,
        }),
      );
    });

    it('non-members are refused; private rooms are invisible', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await roomWith(alice);
      const { message } = await createPoll(alice, room.roomId);
      expectError(await vote(bob, room.roomId, message.messageId, ['opt1']), 403, 'NOT_A_MEMBER');
      const r = await t.api('POST', pollsPath(room.roomId), {
        token: bob.token,
        body: { question: 'q', options: ['a', 'b'] },
      });
      expectError(r, 403, 'NOT_A_MEMBER');

      const priv = await t.newRoom(alice, { type: 'private' });
      const p = await createPoll(alice, priv.roomId);
      expectError(await getPoll(bob, priv.roomId, p.message.messageId), 404, 'ROOM_NOT_FOUND');
      expectError(await vote(bob, priv.roomId, p.message.messageId, ['opt1']), 404, 'ROOM_NOT_FOUND');
    });

    it('bad input is refused with nothing stored', async () => {
      const [alice] = await newUsers(t, 1);
      const room = await roomWith(alice);
      const bad = [
        { question: 'q', options: ['only'] },
        { question: 'q', options: ['a', 'A '] },
        { question: 'q', options: Array.from({ length: 11 }, (_, i) => `o${i}`) },
        { question: '', options: ['a', 'b'] },
        { question: 'q', options: ['a', ''] },
        { question: 'x'.repeat(301), options: ['a', 'b'] },
      ];
      for (const body of bad) {
        const r = await t.api('POST', pollsPath(room.roomId), { token: alice.token, body });
        expectError(r, 400, 'VALIDATION_FAILED');
      }
      expect((await history(t, alice, room.roomId)).filter((m) => m.type === 'poll')).toHaveLength(0);

      const { message } = await createPoll(alice, room.roomId);
      expectError(await vote(alice, room.roomId, message.messageId, ['nope']), 400, 'VALIDATION_FAILED');
      expectError(
        await vote(alice, room.roomId, message.messageId, ['opt1', 'opt1']),
        400,
        'VALIDATION_FAILED',
      );
      const poll = expectOk(await getPoll(alice, room.roomId, message.messageId));
      expect(poll.totalVoters).toBe(0);
      expect(
        (await events(t, alice, room.roomId, message.seq)).filter((e) => e.type === 'poll_updated'),
      ).toEqual([]);

      const text = expectOk(
        await t.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
          token: alice.token,
          body: { content: 'hi' },
        }),
        201,
      );
      expectError(await vote(alice, room.roomId, text.messageId, ['opt1']), 400, 'NOT_A_POLL');
      expectError(await getPoll(alice, room.roomId, text.messageId), 400, 'NOT_A_POLL');
    });

    it('anonymous polls count votes without showing voters', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await roomWith(alice, bob);
      const { message, poll: created } = await createPoll(alice, room.roomId, { anonymous: true });
      expect(created.anonymous).toBe(true);
      const poll = expectOk(await vote(bob, room.roomId, message.messageId, ['opt3']));
      expect(counts(poll)).toEqual([0, 0, 1]);
      expect(poll.myVotes).toEqual(['opt3']);
      for (const o of poll.options) expect(o.voters).toBeUndefined();
      const seen = expectOk(await getPoll(alice, room.roomId, message.messageId));
      expect(seen.myVotes).toEqual([]);
      expect(JSON.stringify(seen)).not.toContain(bob.userId);
      const [ev] = (await events(t, alice, room.roomId, message.seq)).filter(
        (e) => e.type === 'poll_updated',
      );
      expect(ev).toMatchObject({ actorId: null, poll: { totalVoters: 1 } });
      expect(JSON.stringify(ev)).not.toContain(bob.userId);
    });
  });
}
