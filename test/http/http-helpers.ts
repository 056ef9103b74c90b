import { expect } from 'vitest';
import type { ApiResponse, TestApp, TestUser } from '../helpers/test-app.js';

/** Shared assertions and shortcuts for the REST integration suites in this folder. */

/** Asserts an error envelope with the given status and code. */
export function expectError(r: ApiResponse, status: number, code: string): void {
  expect({ status: r.status, body: r.body }).toMatchObject({
    status,
    body: { success: false, error: { code, message: expect.any(String) } },
  });
}

/** Asserts a success envelope with the given status and returns its data. */
export function expectOk<T = any>(r: ApiResponse<T>, status = 200): T {
  expect({ status: r.status, body: r.body }).toMatchObject({ status, body: { success: true } });
  return r.body.data;
}

export async function send(
  t: TestApp,
  user: TestUser,
  roomId: string,
  content: string,
  extra: Record<string, unknown> = {},
): Promise<any> {
  const r = await t.api('POST', `/v1/chat/rooms/${roomId}/messages`, {
    token: user.token,
    body: { content, ...extra },
  });
  return expectOk(r, 201);
}

/** Full message history as `user` sees it (up to 100 messages), oldest first. */
export async function history(t: TestApp, user: TestUser, roomId: string, query = ''): Promise<any[]> {
  const r = await t.api('GET', `/v1/chat/rooms/${roomId}/messages?limit=100${query ? `&${query}` : ''}`, {
    token: user.token,
  });
  return expectOk(r).messages;
}

export async function getRoom(t: TestApp, user: TestUser, roomId: string): Promise<any> {
  return expectOk(await t.api('GET', `/v1/chat/rooms/${roomId}`, { token: user.token }));
}

/** The room's log head: the seq of its newest event. */
export async function lastSeq(t: TestApp, user: TestUser, roomId: string): Promise<number> {
  return (await getRoom(t, user, roomId)).lastSeq;
}

export async function join(t: TestApp, user: TestUser, roomId: string): Promise<any> {
  return expectOk(await t.api('POST', `/v1/chat/rooms/${roomId}/join`, { token: user.token }));
}

export async function setRole(
  t: TestApp,
  actor: TestUser,
  roomId: string,
  target: TestUser,
  role: string,
): Promise<any> {
  return expectOk(
    await t.api('PATCH', `/v1/chat/rooms/${roomId}/members/${target.userId}`, {
      token: actor.token,
      body: { role },
    }),
  );
}

export async function members(t: TestApp, user: TestUser, roomId: string): Promise<any[]> {
  return expectOk(await t.api('GET', `/v1/chat/rooms/${roomId}/members?limit=100`, { token: user.token }))
    .members;
}

/** Role of `target` in the room, or undefined if not a member. */
export async function roleOf(
  t: TestApp,
  viewer: TestUser,
  roomId: string,
  target: TestUser,
): Promise<string | undefined> {
  return (await members(t, viewer, roomId)).find((m) => m.userId === target.userId)?.role;
}

/** Every room `user` is a member of (first 100), as listed. */
export async function joinedRooms(t: TestApp, user: TestUser, query = ''): Promise<any[]> {
  const r = await t.api('GET', `/v1/chat/rooms?joined=true&limit=100${query ? `&${query}` : ''}`, {
    token: user.token,
  });
  return expectOk(r).rooms;
}

/** The room log after a seq. */
export async function events(t: TestApp, user: TestUser, roomId: string, after = 0): Promise<any[]> {
  const r = await t.api('GET', `/v1/chat/rooms/${roomId}/events?after=${after}&limit=1000`, {
    token: user.token,
  });
  return expectOk(r).events;
}

/** A room id that does not exist (and matches the id format). */
export const MISSING_ROOM = 'room_0000000000000000000000';
export const MISSING_MESSAGE = 'msg_0000000000000000000000';

type Users = [TestUser, TestUser, TestUser, TestUser, TestUser, TestUser, TestUser, TestUser];

/** Up to eight fresh users, typed as a tuple so they destructure without checks. */
export async function newUsers(t: TestApp, n: number): Promise<Users> {
  if (n > 8) throw new Error('newUsers: at most 8');
  return (await Promise.all(Array.from({ length: n }, () => t.newUser()))) as Users;
}
