import { isAbsolute, join, normalize } from 'node:path';
import type { Config } from '../config/config.js';
import { splitTemplate, TemplateError } from './command-template.js';

/** The agent worker's settings, resolved from the config (see docs/agents.md for each). */
export interface AgentSettings {
  /** Triggers are refused (and no worker runs) unless set. @default false */
  enabled: boolean;
  /** Root of the per project+user workspaces. */
  workspaceDir: string;
  /** Agent command template (see command-template.ts). */
  command: string[];
  /** Build command template, or null for no build. */
  buildCommand: string[] | null;
  /** Build output directory, relative to the repository. */
  outputDir: string;
  /** Directory (relative to the repository) where report jobs leave their files. */
  reportDir: string;
  /** Ms a whole job (clone to push) may take. */
  jobTimeoutMs: number;
  /** Ms between SIGTERM and SIGKILL when a run is stopped. */
  killGraceMs: number;
  /** Bytes of agent output streamed and kept per command. */
  maxOutputBytes: number;
  /** Bytes one publication may hold. */
  maxPublishBytes: number;
  /** Repository URL prefixes jobs may name; empty: any https/ssh URL. */
  repoAllowlist: string[];
  gitToken: string | undefined;
  gitUsername: string;
  gitAuthorName: string;
  gitAuthorEmail: string;
  /** Environment names passed to agent processes even though they look like secrets. */
  envPassthrough: string[];
  /** Jobs this process runs at once; 0: none. */
  workerConcurrency: number;
  /** Shortest gap in ms between two progress frames of one job. */
  progressIntervalMs: number;
  /** Waiting jobs beyond which triggers are refused. */
  queueMax: number;
  botUsername: string;
  botName: string;
  /** Where a published site is served: `{projectId}` is replaced. */
  siteUrl: string;
  /** Longest message the server accepts (results are cut to fit). */
  maxMessageLength: number;
  /** Largest attachment in bytes (bigger report files are not attached). */
  maxFileSize: number;
}

/** Runs of a job (a run whose worker died counts) before it fails for good. */
export const AGENT_JOB_ATTEMPTS = 3;

export function agentSettings(c: Config): AgentSettings {
  return {
    enabled: c.agentEnabled,
    workspaceDir: c.agentWorkspaceDir ?? join(c.dataDir, 'agent-workspaces'),
    command: splitTemplate(c.agentCommand),
    buildCommand: c.agentBuildCommand ? splitTemplate(c.agentBuildCommand) : null,
    outputDir: c.agentOutputDir,
    reportDir: c.agentReportDir,
    jobTimeoutMs: c.agentJobTimeout,
    killGraceMs: c.agentKillGraceMs,
    maxOutputBytes: c.agentMaxOutputBytes,
    maxPublishBytes: c.agentMaxPublishBytes,
    repoAllowlist: c.agentRepoAllowlist,
    gitToken: c.agentGitToken,
    gitUsername: c.agentGitUsername,
    gitAuthorName: c.agentGitAuthorName,
    gitAuthorEmail: c.agentGitAuthorEmail,
    envPassthrough: c.agentEnvPassthrough,
    workerConcurrency: c.agentWorkerConcurrency,
    progressIntervalMs: c.agentProgressIntervalMs,
    queueMax: c.agentQueueMax,
    botUsername: c.agentBotUsername.toLowerCase(),
    botName: c.agentBotName,
    siteUrl: c.agentSiteUrl,
    maxMessageLength: c.maxMessageLength,
    maxFileSize: c.maxFileSize,
  };
}

/** Cross-field checks of the AGENT_* settings, for loadConfig. */
export function checkAgentConfig(c: Config, problems: string[]): void {
  for (const [env, value] of [
    ['AGENT_COMMAND', c.agentCommand],
    ['AGENT_BUILD_COMMAND', c.agentBuildCommand],
  ] as const) {
    if (value === undefined) continue;
    try {
      splitTemplate(value);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push(`${env}: ${err.message}`);
    }
  }
  for (const [env, dir] of [
    ['AGENT_OUTPUT_DIR', c.agentOutputDir],
    ['AGENT_REPORT_DIR', c.agentReportDir],
  ] as const) {
    const n = normalize(dir);
    if (isAbsolute(dir) || n === '..' || n.startsWith('../') || n.split('/').includes('.git')) {
      problems.push(`${env}: must be a directory inside the repository (relative, no "..", not .git)`);
    }
  }
  if (!/^[a-z0-9][a-z0-9_.-]{2,31}$/.test(c.agentBotUsername.toLowerCase())) {
    problems.push('AGENT_BOT_USERNAME: must be a valid username (3-32 of a-z 0-9 _ . -)');
  }
  if (!c.agentSiteUrl.includes('{projectId}')) {
    problems.push('AGENT_SITE_URL: must contain {projectId}');
  }
}
