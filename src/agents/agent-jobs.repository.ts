import type { Insertable, Kysely, Selectable } from 'kysely';
import type { AgentJobsTable, AgentProjectsTable, Database } from '../store/database.js';
import type { AgentJobRow, AgentJobState, StopReason } from './agent-model.js';

export type AgentProjectRow = Selectable<AgentProjectsTable>;

const UNFINISHED: AgentJobState[] = ['queued', 'running'];

/** The only code that touches `agent_jobs` and `agent_projects`. Times are epoch ms from the caller. */
export class AgentJobsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findProject(id: string): Promise<AgentProjectRow | undefined> {
    return this.db.selectFrom('agent_projects').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Creates the project bound to `room_id`, unless it exists (then nothing changes). */
  async insertProject(row: Insertable<AgentProjectsTable>): Promise<void> {
    await this.db
      .insertInto('agent_projects')
      .values(row)
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async setProjectRepo(id: string, repoUrl: string, now: number): Promise<void> {
    await this.db
      .updateTable('agent_projects')
      .set({ repo_url: repoUrl, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  /** The project of the room's latest job, if any. */
  async latestProjectOfRoom(roomId: string): Promise<string | undefined> {
    const r = await this.db
      .selectFrom('agent_jobs')
      .select('project_id')
      .where('room_id', '=', roomId)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r?.project_id;
  }

  async insertJob(row: Insertable<AgentJobsTable>): Promise<void> {
    await this.db.insertInto('agent_jobs').values(row).execute();
  }

  findJob(id: string): Promise<AgentJobRow | undefined> {
    return this.db.selectFrom('agent_jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByCommand(userId: string, commandId: string): Promise<AgentJobRow | undefined> {
    return this.db
      .selectFrom('agent_jobs')
      .selectAll()
      .where('user_id', '=', userId)
      .where('command_id', '=', commandId)
      .executeTakeFirst();
  }

  listByRoom(roomId: string, limit: number): Promise<AgentJobRow[]> {
    return this.db
      .selectFrom('agent_jobs')
      .selectAll()
      .where('room_id', '=', roomId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  /** Queued or running jobs of a thread, oldest first, except `exceptId`. */
  unfinishedInThread(threadId: string, exceptId: string): Promise<AgentJobRow[]> {
    return this.db
      .selectFrom('agent_jobs')
      .selectAll()
      .where('thread_id', '=', threadId)
      .where('state', 'in', UNFINISHED)
      .where('id', '!=', exceptId)
      .orderBy('created_at')
      .execute();
  }

  /** Records why an unfinished job is to stop (the first reason wins). False if it had finished. */
  async requestStop(id: string, reason: StopReason, by: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('agent_jobs')
      .set({ stop_reason: reason, stopped_by: by, updated_at: now })
      .where('id', '=', id)
      .where('state', 'in', UNFINISHED)
      .where('stop_reason', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * A worker starts a run: queued (or running, for a run taken over from a worker that died) and not
   * asked to stop. False when the job must not run.
   */
  async markRunning(id: string, attempt: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('agent_jobs')
      .set({ state: 'running', attempt, started_at: now, updated_at: now })
      .where('id', '=', id)
      .where('state', 'in', UNFINISHED)
      .where('stop_reason', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Keeps `updated_at` fresh while a run goes on (the reconciler leaves fresh rows alone). */
  async touch(id: string, now: number): Promise<void> {
    await this.db
      .updateTable('agent_jobs')
      .set({ updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .execute();
  }

  /** Sets the final state and result once; false if another writer finished it first. */
  async finish(id: string, state: AgentJobState, result: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('agent_jobs')
      .set({ state, result, finished_at: now, updated_at: now })
      .where('id', '=', id)
      .where('state', 'in', UNFINISHED)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setResultMessage(id: string, messageId: string): Promise<void> {
    await this.db
      .updateTable('agent_jobs')
      .set({ result_message_id: messageId })
      .where('id', '=', id)
      .execute();
  }

  /** Unfinished jobs not updated since `before`, and finished ones whose report was never posted. */
  stale(before: number, limit: number): Promise<AgentJobRow[]> {
    return this.db
      .selectFrom('agent_jobs')
      .selectAll()
      .where('updated_at', '<', before)
      .where((eb) =>
        eb.or([
          eb('state', 'in', UNFINISHED),
          eb.and([eb('state', 'not in', UNFINISHED), eb('result_message_id', 'is', null)]),
        ]),
      )
      .orderBy('updated_at')
      .limit(limit)
      .execute();
  }
}
