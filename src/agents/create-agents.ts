import type { Logger } from 'pino';
import type { AttachmentsService } from '../attachments/attachments.service.js';
import type { BlobStore } from '../attachments/blob-store.js';
import type { Bus } from '../bus/bus.js';
import type { Config } from '../config/config.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { JobQueue, StopOptions } from '../queue/job-queue.js';
import type { Store } from '../store/store.js';
import { ensureBotUser } from '../users/bot-users.js';
import { AgentService } from './agent.service.js';
import { scrubbedEnv } from './agent-env.js';
import { AgentJobsRepository } from './agent-jobs.repository.js';
import { type AgentBot, AgentResults } from './agent-results.js';
import { AgentRunner } from './agent-runner.js';
import { agentSettings } from './agent-settings.js';
import { AgentWorker } from './agent-worker.js';
import { SiteStore } from './site-store.js';

export interface AgentsDeps {
  config: Config;
  store: Store;
  bus: Bus;
  queue: JobQueue;
  messages: MessagesService;
  attachments: AttachmentsService;
  blobs: BlobStore;
  logger: Logger;
  /** The process environment agent commands start from (scrubbed of Switchboard's secrets). */
  env: NodeJS.ProcessEnv;
  now?: () => number;
}

/** The agent domain, wired: the service (triggers, REST, frames), published sites, and the worker. */
export interface Agents {
  service: AgentService;
  sites: SiteStore;
  worker: AgentWorker;
  /**
   * When the agent is enabled: makes sure its bot user exists (before anyone can register the name)
   * and runs agent jobs in this process if AGENT_WORKER_CONCURRENCY > 0.
   */
  start(): Promise<void>;
  /** Runs agent jobs in this process when enabled and AGENT_WORKER_CONCURRENCY > 0; true if it does. */
  startWorker(): boolean;
  stopWorker(opts?: StopOptions): Promise<void>;
  close(): Promise<void>;
}

export function createAgents(d: AgentsDeps): Agents {
  const settings = agentSettings(d.config);
  const now = d.now ?? Date.now;
  const repo = new AgentJobsRepository(d.store.db);
  let botPromise: Promise<AgentBot> | undefined;
  const bot = () => {
    botPromise ??= ensureBotUser(
      d.store,
      { username: settings.botUsername, displayName: settings.botName, setting: 'AGENT_BOT_USERNAME' },
      now(),
    ).catch((err) => {
      botPromise = undefined;
      throw err;
    });
    return botPromise;
  };
  const sites = new SiteStore(d.blobs, { maxBytes: settings.maxPublishBytes }, now);
  const results = new AgentResults(
    repo,
    d.messages,
    bot,
    { maxMessageLength: settings.maxMessageLength, secrets: settings.gitToken ? [settings.gitToken] : [] },
    now,
  );
  const runner = new AgentRunner({
    settings,
    sites,
    env: scrubbedEnv(d.env, settings.envPassthrough),
    ...(d.blobs.kind === 's3' && d.config.s3Bucket ? { s3Bucket: d.config.s3Bucket } : {}),
    now,
  });
  const logger = d.logger.child({ component: 'agent' });
  const service = new AgentService({
    store: d.store,
    repo,
    queue: d.queue,
    bus: d.bus,
    messages: d.messages,
    results,
    bot,
    settings,
    logger,
    now,
  });
  const worker = new AgentWorker({
    queue: d.queue,
    store: d.store,
    repo,
    runner,
    results,
    attachments: d.attachments,
    bus: d.bus,
    bot,
    settings,
    logger,
    now,
  });
  d.messages.onSent(service.onMessage);
  return {
    service,
    sites,
    worker,
    async start() {
      if (!settings.enabled) return;
      await bot();
      this.startWorker();
    },
    startWorker() {
      if (!settings.enabled || settings.workerConcurrency === 0) return false;
      worker.start();
      return true;
    },
    stopWorker: (opts) => worker.stop(opts),
    // Shutting down must not wait for a long job: its agent is stopped and another worker (or this
    // one, restarted) takes the job over once its lease is over.
    close: () => worker.stop({ abandon: true }),
  };
}
