import pg from 'pg';
import { PG_URL, postgresReachable } from './backends.js';

/**
 * Test schemas are dropped here rather than by each file: dropping a schema while another file's
 * migration introspects the database makes that migration fail. Setup drops schemas left by runs
 * whose process is gone; teardown drops this run's. Names are `t_<run pid base36>_<random>`.
 */
async function dropSchemas(which: (ownerPid: number) => boolean): Promise<void> {
  if (!(await postgresReachable().catch(() => false))) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      "select nspname from pg_namespace where nspname ~ '^t_[0-9a-z]+_[0-9a-f]{12}$'",
    );
    for (const { nspname } of rows) {
      const pid = Number.parseInt(nspname.split('_')[1]!, 36);
      if (which(pid)) await client.query(`drop schema if exists ${nspname} cascade`);
    }
  } finally {
    await client.end();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function setup(): Promise<void> {
  await dropSchemas((pid) => pid !== process.pid && !alive(pid));
}

export async function teardown(): Promise<void> {
  await dropSchemas((pid) => pid === process.pid);
}
