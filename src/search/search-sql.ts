import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../store/database.js';
import type { SearchHit, SearchQuery } from './search.repository.js';

/**
 * Conditions every search applies, the same on SQLite and PostgreSQL: live messages of rooms the
 * user may read (as in src/rooms/room-access.ts: members' rooms and discoverable rooms, never rooms
 * the user is banned from), then the caller's filters. Applied before ranking and paging, so nothing
 * of an unreadable room can show, not even in counts.
 */
export function searchConditions(q: SearchQuery): RawBuilder<unknown>[] {
  const { userId, now, discoverableRoomTypes } = q.scope;
  const discoverable =
    discoverableRoomTypes.length > 0
      ? sql`select rooms.id from rooms where rooms.type in (${sql.join([...discoverableRoomTypes])}) union `
      : sql``;
  const out = [
    sql`messages.deleted_at is null`,
    sql`messages.room_id in (${discoverable}select members.room_id from members where members.user_id = ${userId})`,
    sql`not exists (select 1 from room_bans where room_bans.room_id = messages.room_id
      and room_bans.user_id = ${userId} and (room_bans.expires_at is null or room_bans.expires_at > ${now}))`,
  ];
  if (q.roomId !== undefined) out.push(sql`messages.room_id = ${q.roomId}`);
  // Anonymous messages never match an author filter: that would say who wrote them.
  if (q.authorId !== undefined)
    out.push(sql`messages.author_id = ${q.authorId}`, sql`messages.is_anonymous = 0`);
  if (q.from !== undefined) out.push(sql`messages.created_at >= ${q.from}`);
  if (q.to !== undefined) out.push(sql`messages.created_at <= ${q.to}`);
  const withAttachment = sql`(messages.attachments is not null and messages.attachments not in ('', '[]', 'null'))`;
  if (q.hasAttachment === true) out.push(withAttachment);
  if (q.hasAttachment === false) out.push(sql`not ${withAttachment}`);
  return out;
}

/** A LIKE pattern for `text` anywhere, with `\` as the escape character (spelled out: SQLite has none). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The query both engines end with: messages (with author) from `from`, filtered by `where`, ranked by
 * `rank` (higher is better; newest first on ties), one page.
 */
export async function runSearch(
  db: Kysely<Database>,
  from: RawBuilder<unknown>,
  where: RawBuilder<unknown>[],
  rank: RawBuilder<unknown>,
  q: Pick<SearchQuery, 'limit' | 'offset'>,
): Promise<SearchHit[]> {
  const { rows } = await sql<SearchHit>`
    select messages.*, users.display_name as author_name, users.avatar as author_avatar, ${rank} as rank
    from ${from}
    left join users on users.id = messages.author_id
    where ${sql.join(where, sql` and `)}
    order by rank desc, messages.created_at desc, messages.id desc
    limit ${q.limit} offset ${q.offset}`.execute(db);
  return rows;
}
