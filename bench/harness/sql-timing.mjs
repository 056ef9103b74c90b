/**
 * Profiling aid: time spent in each SQLite statement, printed at exit (slowest first).
 * `node --import tsx --import ./bench/harness/sql-timing.mjs bench/run.ts group-commit --group-only --backend sqlite`
 * Placeholder lists are folded so one statement of any batch size counts once.
 */
import Database from 'better-sqlite3';

const stats = new Map();
const proto = Object.getPrototypeOf(new Database(':memory:').prepare('select 1'));
for (const m of ['run', 'all', 'get', 'iterate']) {
  const orig = proto[m];
  proto[m] = function (...a) {
    const t = process.hrtime.bigint();
    try {
      return orig.apply(this, a);
    } finally {
      const k = this.source
        .slice(0, 90)
        .replace(/\(\?(, \?)*\)(, \(\?(, \?)*\))*/g, '(..)')
        .replace(/\?(, \?)+/g, '?..');
      const s = stats.get(k) ?? { n: 0, ns: 0n };
      s.n++;
      s.ns += process.hrtime.bigint() - t;
      stats.set(k, s);
    }
  };
}
process.on('exit', () => {
  const all = [...stats].sort((a, b) => Number(b[1].ns - a[1].ns)).slice(0, 25);
  for (const [k, s] of all)
    process.stderr.write(
      `${(Number(s.ns) / 1e6).toFixed(0).padStart(7)} ms ${String(s.n).padStart(7)}x ${k}\n`,
    );
});
