import type { AgentJobKind } from './agent-model.js';

/** A chat message that asks the agent for something. */
export type AgentCommand =
  | {
      kind: 'job';
      jobKind: AgentJobKind;
      instruction: string;
      projectId?: string;
      repoUrl?: string;
    }
  | { kind: 'usage'; help: string };

export const AGENT_USAGE =
  'Usage: /agent [--project=<id>] [--repo=<git url>] <instruction>, or /report <what the report should say>.';

const COMMAND_RE = /^\/(agent|report)(?:\s+([\s\S]*))?$/i;
const OPTION_RE = /^--(project|repo|report)(?:=(\S*))?$/;

/**
 * `/agent <instruction>` (edit the project), `/agent --report ...` or `/report <instruction>` (write a
 * report). Leading `--project=<id>` / `--repo=<url>` pick the project and its repository; the rest is
 * the instruction, as written. Undefined when the message is not an agent command.
 */
export function parseAgentCommand(content: string): AgentCommand | undefined {
  const m = COMMAND_RE.exec(content.trim());
  if (!m) return undefined;
  let jobKind: AgentJobKind = m[1]!.toLowerCase() === 'report' ? 'report' : 'site';
  let rest = (m[2] ?? '').trim();
  let projectId: string | undefined;
  let repoUrl: string | undefined;
  for (;;) {
    const word = /^(\S+)(?:\s+|$)/.exec(rest);
    const opt = word ? OPTION_RE.exec(word[1]!) : null;
    if (!word || !opt) break;
    if (opt[1] === 'report') jobKind = 'report';
    else if (!opt[2]) return { kind: 'usage', help: AGENT_USAGE };
    else if (opt[1] === 'project') projectId = opt[2];
    else repoUrl = opt[2];
    rest = rest.slice(word[0].length);
  }
  if (rest.trim() === '') return { kind: 'usage', help: AGENT_USAGE };
  return {
    kind: 'job',
    jobKind,
    instruction: rest.trim(),
    ...(projectId ? { projectId } : {}),
    ...(repoUrl ? { repoUrl } : {}),
  };
}
