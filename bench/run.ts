/**
 * Benchmark runner: `npm run bench -- <scenario> [--quick]`. Each scenario prints one JSON line per
 * run (machine-readable) and a human summary with ratios against a baseline measured in the same run.
 */
import { chatMix } from './chat-mix.js';
import { fanout } from './fanout.js';
import { groupCommit } from './group-commit.js';
import { idle } from './idle.js';
import { storm } from './storm.js';

const scenarios: Record<string, (args: string[]) => Promise<void>> = {
  'chat-mix': chatMix,
  'group-commit': groupCommit,
  fanout,
  idle,
  storm,
};

const [name, ...args] = process.argv.slice(2);
const run = name ? scenarios[name] : undefined;
if (!run) {
  process.stderr.write(
    `usage: npm run bench -- <scenario> [--quick]\nscenarios: ${Object.keys(scenarios).join(', ')}\n`,
  );
  process.exit(2);
}
await run(args);
