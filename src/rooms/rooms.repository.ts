import { type Insertable, type Kysely, sql } from 'kysely';
import { chunks } from '../shared/collections.js';
import type { Dialect } from '../store/create-database.js';
import type { Database, MemberRow, MembersTable, RoomRow, RoomsTable } from '../store/database.js';

export interface RoomListFilter {
  userId: string;
  type?: string;
  /** Only rooms the user is a member of. */
  joinedOnly: boolean;
  /** Bans that expired at or before `now` no longer hide a room (as in `isBanned`). */
  now: number;
  limit: number;
  offset: number;
}

export type RoomWithMembership = RoomRow & {
  role: string | null;
  read_seq: number | null;
  read_count: number | null;
};

/** One room's share of a multi-room seq reservation. */
export interface SeqRequest {
  roomId: string;
  count: number;
  messages: number;
}

/** A (room, user) pair. */
export interface RoomUser {
  roomId: string;
  userId: string;
}

/** `(room_id, user_id) in (values ...)`: one index probe per pair (two IN lists would probe every combination). */
function pairsIn(pairs: readonly RoomUser[]) {
  return sql<boolean>`(room_id, user_id) in (values ${sql.join(pairs.map((p) => sql`(${p.roomId}, ${p.userId})`))})`;
}

/** A read pointer to move forward: see advanceRead. */
export interface ReadAdvance {
  roomId: string;
  userId: string;
  seq: number;
  readCount: number;
}

/** Rows per multi-row statement here (at most 5 bound parameters each): far below every driver's limit. */
const RESERVE_CHUNK = 500;

export class RoomsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect = 'sqlite',
  ) {}

  async insert(row: Insertable<RoomsTable>): Promise<void> {
    await this.db.insertInto('rooms').values(row).execute();
  }

  findById(id: string): Promise<RoomRow | undefined> {
    return this.db.selectFrom('rooms').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByIds(ids: readonly string[]): Promise<RoomRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('rooms').selectAll().where('id', 'in', ids).execute();
  }

  /** The memberships of the given (room, user) pairs that exist. */
  async membershipsOf(pairs: readonly RoomUser[]): Promise<MemberRow[]> {
    const out: MemberRow[] = [];
    for (const chunk of chunks(pairs, RESERVE_CHUNK))
      out.push(...(await this.db.selectFrom('members').selectAll().where(pairsIn(chunk)).execute()));
    return out;
  }

  /** Bans in force at `now` among the given (room, user) pairs. */
  async bansOf(pairs: readonly RoomUser[], now: number): Promise<{ room_id: string; user_id: string }[]> {
    const out: { room_id: string; user_id: string }[] = [];
    for (const chunk of chunks(pairs, RESERVE_CHUNK)) {
      out.push(
        ...(await this.db
          .selectFrom('room_bans')
          .select(['room_id', 'user_id'])
          .where(pairsIn(chunk))
          .where((b) => b.or([b('expires_at', 'is', null), b('expires_at', '>', now)]))
          .execute()),
      );
    }
    return out;
  }

  findByDmKey(key: string): Promise<RoomRow | undefined> {
    return this.db.selectFrom('rooms').selectAll().where('dm_key', '=', key).executeTakeFirst();
  }

  async update(
    id: string,
    patch: Partial<Pick<RoomsTable, 'name' | 'description' | 'avatar' | 'settings' | 'max_members'>>,
    now: number,
  ): Promise<void> {
    await this.db
      .updateTable('rooms')
      .set({ ...patch, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Reserves `count` seqs in the room's log (and `messages` message numbers) and returns the first
   * of each. Runs inside the caller's transaction; on PostgreSQL the row lock orders concurrent writers.
   */
  async reserveSeqs(
    roomId: string,
    count: number,
    messages: number,
    now: number,
  ): Promise<{ firstSeq: number; firstMsgNo: number }> {
    const row = await this.db
      .updateTable('rooms')
      .set({
        last_seq: sql`last_seq + ${count}`,
        message_count: sql`message_count + ${messages}`,
        last_activity: now,
      })
      .where('id', '=', roomId)
      .returning(['last_seq', 'message_count'])
      .executeTakeFirstOrThrow();
    return { firstSeq: row.last_seq - count + 1, firstMsgNo: row.message_count - messages + 1 };
  }

  /**
   * reserveSeqs for many rooms in one statement (a send batch spanning many rooms would otherwise
   * pay one round trip per room). On PostgreSQL the rows are first locked in id order, so
   * concurrent batches on several nodes cannot deadlock; SQLite has one writer anyway.
   * One request per room, and every room must exist; the result is keyed by room id.
   */
  async reserveSeqsMany(
    requests: readonly SeqRequest[],
    now: number,
  ): Promise<Map<string, { firstSeq: number; firstMsgNo: number }>> {
    const out = new Map<string, { firstSeq: number; firstMsgNo: number }>();
    for (const chunk of chunks(requests, RESERVE_CHUNK)) {
      const ids = chunk.map((q) => q.roomId);
      if (this.dialect === 'postgres') {
        await this.db
          .selectFrom('rooms')
          .select('id')
          .where('id', 'in', ids)
          .orderBy('id')
          .forUpdate()
          .execute();
      }
      // Joined against a list of the increments: a CASE per row would cost rooms x rooms comparisons.
      const values = sql.join(
        chunk.map(
          (q) => sql`(cast(${q.roomId} as text), cast(${q.count} as bigint), cast(${q.messages} as bigint))`,
        ),
      );
      const { rows } = await sql<{ id: string; last_seq: number; message_count: number }>`
        with v(id, n, m) as (values ${values})
        update rooms set
          last_seq = rooms.last_seq + v.n,
          message_count = rooms.message_count + v.m,
          last_activity = ${now}
        from v
        where rooms.id = v.id
        returning rooms.id, rooms.last_seq, rooms.message_count`.execute(this.db);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const q of chunk) {
        const row = byId.get(q.roomId);
        if (!row) throw new Error(`reserveSeqsMany: no room ${q.roomId}`);
        out.set(q.roomId, {
          firstSeq: row.last_seq - q.count + 1,
          firstMsgNo: row.message_count - q.messages + 1,
        });
      }
    }
    return out;
  }

  /** Rooms visible to a user: public and announcement rooms plus every room they are a member of. */
  list(f: RoomListFilter): Promise<RoomWithMembership[]> {
    return this.visible(f)
      .selectAll('rooms')
      .select(['members.role', 'members.read_seq', 'members.read_count'])
      .orderBy('rooms.last_activity', 'desc')
      .orderBy('rooms.id')
      .limit(f.limit)
      .offset(f.offset)
      .execute();
  }

  async countVisible(f: Omit<RoomListFilter, 'limit' | 'offset'>): Promise<number> {
    const row = await this.visible(f)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private visible(f: Omit<RoomListFilter, 'limit' | 'offset'>) {
    let q = this.db
      .selectFrom('rooms')
      .leftJoin('members', (j) =>
        j.onRef('members.room_id', '=', 'rooms.id').on('members.user_id', '=', f.userId),
      )
      .where((eb) =>
        f.joinedOnly
          ? eb('members.user_id', 'is not', null)
          : eb.or([
              eb('members.user_id', 'is not', null),
              eb('rooms.type', 'in', ['public', 'announcement']),
            ]),
      )
      // Rooms the user is banned from disappear from discovery.
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('room_bans')
              .select('room_bans.room_id')
              .whereRef('room_bans.room_id', '=', 'rooms.id')
              .where('room_bans.user_id', '=', f.userId)
              .where((b) =>
                b.or([b('room_bans.expires_at', 'is', null), b('room_bans.expires_at', '>', f.now)]),
              ),
          ),
        ),
      );
    if (f.type) q = q.where('rooms.type', '=', f.type);
    return q;
  }

  // ---- members ----

  getMember(roomId: string, userId: string): Promise<MemberRow | undefined> {
    return this.db
      .selectFrom('members')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  /** Adds a member and bumps member_count; false if they already were one. */
  async addMember(row: Insertable<MembersTable>): Promise<boolean> {
    const r = await this.db
      .insertInto('members')
      .values(row)
      .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
      .executeTakeFirst();
    const added = Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    if (added) {
      await this.db
        .updateTable('rooms')
        .set({ member_count: sql`member_count + 1` })
        .where('id', '=', row.room_id)
        .execute();
    }
    return added;
  }

  async removeMember(roomId: string, userId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('members')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    const removed = Number(r.numDeletedRows) === 1;
    if (removed) {
      await this.db
        .updateTable('rooms')
        .set({ member_count: sql`member_count - 1` })
        .where('id', '=', roomId)
        .execute();
    }
    return removed;
  }

  /** Members whose mute has not ended, soonest end first. */
  async activeMutes(roomId: string, now: number): Promise<{ user_id: string; muted_until: number }[]> {
    const rows = await this.db
      .selectFrom('members')
      .select(['user_id', 'muted_until'])
      .where('room_id', '=', roomId)
      .where('muted_until', '>', now)
      .orderBy('muted_until')
      .limit(1000)
      .execute();
    return rows as { user_id: string; muted_until: number }[];
  }

  async setMutedUntil(roomId: string, userId: string, until: number | null): Promise<void> {
    await this.db
      .updateTable('members')
      .set({ muted_until: until })
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .execute();
  }

  async setRole(roomId: string, userId: string, role: string): Promise<void> {
    await this.db
      .updateTable('members')
      .set({ role })
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .execute();
  }

  listMembers(roomId: string, limit: number, offset: number) {
    return this.db
      .selectFrom('members')
      .innerJoin('users', 'users.id', 'members.user_id')
      .select([
        'members.user_id',
        'members.role',
        'members.joined_at',
        'members.read_seq',
        'members.delivered_seq',
        'users.username',
        'users.display_name',
        'users.avatar',
        'users.is_bot',
      ])
      .where('members.room_id', '=', roomId)
      .orderBy('members.joined_at')
      .orderBy('members.user_id')
      .limit(limit)
      .offset(offset)
      .execute();
  }

  /** Every room the user is in: its last seq and the user's read position (a connection's starting points). */
  async roomHeads(userId: string): Promise<Map<string, { lastSeq: number; readSeq: number }>> {
    const rows = await this.db
      .selectFrom('members')
      .innerJoin('rooms', 'rooms.id', 'members.room_id')
      .select(['rooms.id', 'rooms.last_seq', 'members.read_seq'])
      .where('members.user_id', '=', userId)
      .execute();
    return new Map(rows.map((r) => [r.id, { lastSeq: r.last_seq, readSeq: r.read_seq }]));
  }

  /** Users who share a room of at most `maxMembers` members with `userId` (presence audience). */
  async peersInSmallRooms(userId: string, maxMembers: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('members as mine')
      .innerJoin('rooms', 'rooms.id', 'mine.room_id')
      .innerJoin('members as peer', 'peer.room_id', 'mine.room_id')
      .select('peer.user_id')
      .distinct()
      .where('mine.user_id', '=', userId)
      .where('rooms.member_count', '<=', maxMembers)
      .where('peer.user_id', '!=', userId)
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** Ids of every member; used for fan-out and DM peers. */
  async memberIds(roomId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('members')
      .select('user_id')
      .where('room_id', '=', roomId)
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** Moves the read pointer forward only; returns false if it would move back. */
  async advanceRead(roomId: string, userId: string, seq: number, readCount: number): Promise<boolean> {
    const r = await this.db
      .updateTable('members')
      .set({
        read_seq: seq,
        read_count: readCount,
        delivered_seq: sql`case when delivered_seq < ${seq} then ${seq} else delivered_seq end`,
      })
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .where('read_seq', '<', seq)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * advanceRead for many (room, user) pairs in one statement per chunk; each pointer only moves
   * forward. Pairs must be distinct.
   */
  async advanceReadMany(reads: readonly ReadAdvance[]): Promise<void> {
    for (const chunk of chunks(reads, RESERVE_CHUNK)) {
      const values = sql.join(
        chunk.map(
          (r) =>
            sql`(cast(${r.roomId} as text), cast(${r.userId} as text), cast(${r.seq} as bigint), cast(${r.readCount} as bigint))`,
        ),
      );
      await sql`with v(room_id, user_id, seq, read_count) as (values ${values})
        update members set
          read_seq = v.seq,
          read_count = v.read_count,
          delivered_seq = case when members.delivered_seq < v.seq then v.seq else members.delivered_seq end
        from v
        where members.room_id = v.room_id and members.user_id = v.user_id and members.read_seq < v.seq`.execute(
        this.db,
      );
    }
  }

  async advanceDelivered(roomId: string, userId: string, seq: number): Promise<boolean> {
    const r = await this.db
      .updateTable('members')
      .set({ delivered_seq: seq })
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .where('delivered_seq', '<', seq)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  // ---- bans ----

  async isBanned(roomId: string, userId: string, now: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('room_bans')
      .select('expires_at')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row !== undefined && (row.expires_at === null || row.expires_at > now);
  }

  async ban(
    roomId: string,
    userId: string,
    by: string,
    reason: string | null,
    now: number,
    expiresAt: number | null,
  ) {
    await this.db
      .insertInto('room_bans')
      .values({
        room_id: roomId,
        user_id: userId,
        banned_by: by,
        reason,
        created_at: now,
        expires_at: expiresAt,
      })
      .onConflict((oc) =>
        oc
          .columns(['room_id', 'user_id'])
          .doUpdateSet({ banned_by: by, reason, created_at: now, expires_at: expiresAt }),
      )
      .execute();
  }

  async unban(roomId: string, userId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('room_bans')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /** Bans in force at `now`. */
  listBans(roomId: string, now: number) {
    return this.db
      .selectFrom('room_bans')
      .selectAll()
      .where('room_id', '=', roomId)
      .where((b) => b.or([b('expires_at', 'is', null), b('expires_at', '>', now)]))
      .orderBy('created_at', 'desc')
      .execute();
  }
}
