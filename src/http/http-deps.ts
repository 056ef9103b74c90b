import type { AgentService } from '../agents/agent.service.js';
import type { SiteStore } from '../agents/site-store.js';
import type { AssistantService } from '../ai/assistant.service.js';
import type { AnnouncementsService } from '../announcements/announcements.service.js';
import type { AttachmentsService } from '../attachments/attachments.service.js';
import type { AuthService } from '../auth/auth.service.js';
import type { Bridges } from '../bridges/create-bridges.js';
import type { ClientErrorsService } from '../client-errors/client-errors.service.js';
import type { Config } from '../config/config.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ModerationService } from '../moderation/moderation.service.js';
import type { PollsService } from '../polls/polls.service.js';
import type { PresenceService } from '../presence/presence.service.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';
import type { Realtime } from '../realtime/realtime.js';
import type { ReceiptsService } from '../receipts/receipts.service.js';
import type { JoinRequestsService } from '../rooms/join-requests.service.js';
import type { RoomsService } from '../rooms/rooms.service.js';
import type { Store } from '../store/store.js';
import type { UsersService } from '../users/users.service.js';
import type { Webhooks } from '../webhooks/create-webhooks.js';

/** What the HTTP edge needs from the composition root. */
export interface HttpDeps {
  config: Config;
  attachments: AttachmentsService;
  store: Store;
  metrics: Metrics;
  auth: AuthService;
  users: UsersService;
  rooms: RoomsService;
  messages: MessagesService;
  polls: PollsService;
  receipts: ReceiptsService;
  presence: PresenceService;
  realtime: Realtime;
  authLimiter: RateLimiter;
  /** Every authenticated REST request, per user. */
  apiLimiter: RateLimiter;
  announcements: AnnouncementsService;
  clientErrors: ClientErrorsService;
  moderation: ModerationService;
  joinRequests: JoinRequestsService;
  /** The AI assistant (ask, status, usage). */
  ai: AssistantService;
  /** Agent jobs (POST/GET /v1/agent/jobs). */
  agents: AgentService;
  /** Published sites (GET /sites/:projectId/...). */
  sites: SiteStore;
  /** Platform webhooks, POST /message, API keys and bridge admin. */
  bridges: Bridges;
  webhooks: Webhooks;
}
