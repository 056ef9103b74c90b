import { SETTINGS } from '../config/config-schema.js';

/** Names that look like secrets are not passed to agent, build or git processes unless allowed. */
const SECRET_LIKE = /(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|APIKEY|PRIVATE_KEY|CREDENTIAL|ACCESS_KEY)/i;

const OWN = new Set<string>([
  ...Object.values(SETTINGS).map((s) => s.env),
  'SWITCHBOARD_CONFIG',
  'SWITCHBOARD_PASSWORD',
]);

/**
 * The environment of the processes a job starts: the worker's own, less every Switchboard setting
 * (database, Redis, JWT and S3 secrets, AI keys, AGENT_GIT_TOKEN) and anything named like a secret,
 * except the names in `passthrough` (AGENT_ENV_PASSTHROUGH, e.g. ANTHROPIC_API_KEY for Claude Code).
 */
export function scrubbedEnv(base: NodeJS.ProcessEnv, passthrough: readonly string[]): NodeJS.ProcessEnv {
  const keep = new Set(passthrough);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined) continue;
    if (!keep.has(name) && (OWN.has(name) || SECRET_LIKE.test(name))) continue;
    env[name] = value;
  }
  return env;
}
