import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { AiRequestsTable, AiSessionsTable, AiUsageTable, Database } from '../store/database.js';

export type AiSessionRow = Selectable<AiSessionsTable>;
export type AiRequestRow = Selectable<AiRequestsTable>;
export type AiUsageRow = Selectable<AiUsageTable>;

export type AiRequestStatus = 'queued' | 'running' | 'done' | 'cancelled' | 'failed';
const ACTIVE: AiRequestStatus[] = ['queued', 'running'];

export interface UsageTotalsRow {
  provider: string;
  model: string;
  requests: number;
  failures: number;
  cancelled: number;
  inputTokens: number;
  outputTokens: number;
  /** Mean latency of the successful calls, ms. */
  avgLatencyMs: number;
}

/** The only code that touches the `ai_*` tables. Times are epoch ms passed in by the caller. */
export class AiRepository {
  constructor(private readonly db: Kysely<Database>) {}

  // ---- sessions ----

  findSession(userId: string, roomId: string): Promise<AiSessionRow | undefined> {
    return this.db
      .selectFrom('ai_sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('room_id', '=', roomId)
      .executeTakeFirst();
  }

  /** False when the user already has a session for the room (another answer created it first). */
  async insertSession(row: Insertable<AiSessionsTable>): Promise<boolean> {
    const r = await this.db
      .insertInto('ai_sessions')
      .values(row)
      .onConflict((oc) => oc.columns(['user_id', 'room_id']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async updateSession(
    id: string,
    patch: { messages: string; summary?: string | null; addTokens: number; now: number },
  ): Promise<void> {
    await this.db
      .updateTable('ai_sessions')
      .set({
        messages: patch.messages,
        ...(patch.summary !== undefined ? { summary: patch.summary } : {}),
        tokens_used: sql`tokens_used + ${patch.addTokens}`,
        updated_at: patch.now,
      })
      .where('id', '=', id)
      .execute();
  }

  async deleteSession(id: string): Promise<void> {
    await this.db.deleteFrom('ai_sessions').where('id', '=', id).execute();
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    const r = await this.db.deleteFrom('ai_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- requests ----

  async insertRequest(row: Insertable<AiRequestsTable>): Promise<boolean> {
    const r = await this.db
      .insertInto('ai_requests')
      .values(row)
      .onConflict((oc) => oc.column('job_id').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  findRequest(jobId: string): Promise<AiRequestRow | undefined> {
    return this.db.selectFrom('ai_requests').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  }

  /** Moves a request to `status` unless it already ended (done, cancelled, failed); true if it moved. */
  async setRequestStatus(jobId: string, status: AiRequestStatus, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('ai_requests')
      .set({ status, updated_at: now })
      .where('job_id', '=', jobId)
      .where('status', 'in', ACTIVE)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** A user's queued or running answers in a room, oldest first. */
  activeRequests(roomId: string, userId: string): Promise<AiRequestRow[]> {
    return this.db
      .selectFrom('ai_requests')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .where('status', 'in', ACTIVE)
      .orderBy('created_at')
      .execute();
  }

  async deleteEndedRequests(before: number): Promise<number> {
    const r = await this.db
      .deleteFrom('ai_requests')
      .where('updated_at', '<', before)
      .where('status', 'not in', ACTIVE)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Seq of the user's latest message in the room below `beforeSeq` (0 if none). */
  async lastMessageSeqBy(roomId: string, userId: string, beforeSeq: number): Promise<number> {
    const row = await this.db
      .selectFrom('messages')
      .select('seq')
      .where('room_id', '=', roomId)
      .where('author_id', '=', userId)
      .where('seq', '<', beforeSeq)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.seq ?? 0;
  }

  // ---- usage ----

  async insertUsage(row: Insertable<AiUsageTable>): Promise<void> {
    await this.db.insertInto('ai_usage').values(row).execute();
  }

  /** Totals per provider and model since `since` (epoch ms), busiest first. */
  async usageTotals(since: number): Promise<UsageTotalsRow[]> {
    const rows = await this.db
      .selectFrom('ai_usage')
      .select((eb) => [
        'provider',
        'model',
        eb.fn.countAll<number>().as('requests'),
        sql<number>`sum(case when status = 'failed' then 1 else 0 end)`.as('failures'),
        sql<number>`sum(case when status = 'cancelled' then 1 else 0 end)`.as('cancelled'),
        eb.fn.sum<number>('input_tokens').as('input_tokens'),
        eb.fn.sum<number>('output_tokens').as('output_tokens'),
        sql<number | null>`avg(case when status = 'ok' then latency_ms end)`.as('avg_latency'),
      ])
      .where('created_at', '>=', since)
      .groupBy(['provider', 'model'])
      .orderBy('requests', 'desc')
      .orderBy('provider')
      .orderBy('model')
      .execute();
    // PostgreSQL returns sums and averages as numeric strings.
    return rows.map((r) => ({
      provider: r.provider,
      model: r.model,
      requests: Number(r.requests),
      failures: Number(r.failures ?? 0),
      cancelled: Number(r.cancelled ?? 0),
      inputTokens: Number(r.input_tokens ?? 0),
      outputTokens: Number(r.output_tokens ?? 0),
      avgLatencyMs: Math.round(Number(r.avg_latency ?? 0)),
    }));
  }

  recentUsage(since: number, limit: number): Promise<AiUsageRow[]> {
    return this.db
      .selectFrom('ai_usage')
      .selectAll()
      .where('created_at', '>=', since)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }
}
