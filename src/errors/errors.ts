/**
 * Every error a service may throw, with a stable code. Transports map `status` to HTTP and `code`
 * to protocol error frames; services never throw transport-specific errors.
 */
export class AppError extends Error {
  constructor(
    /** Stable, documented, machine-readable code (e.g. `ROOM_NOT_FOUND`). */
    readonly code: string,
    message: string,
    /** HTTP status the edge answers with. */
    readonly status: number,
    /** Optional structured details (validation paths, retry hints). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

type ErrorFactory = (message?: string, details?: Record<string, unknown>) => AppError;

function define(code: string, defaultMessage: string, status: number): ErrorFactory {
  return (message = defaultMessage, details) => new AppError(code, message, status, details);
}

/** The catalogue. Codes are part of the public API: never rename one. */
export const Errors = {
  validation: define('VALIDATION_FAILED', 'Request is invalid', 400),
  badJson: define('MALFORMED_JSON', 'Request body is not valid JSON', 400),
  payloadTooLarge: define('PAYLOAD_TOO_LARGE', 'Request body is too large', 413),
  unauthenticated: define('UNAUTHENTICATED', 'Authentication required', 401),
  invalidToken: define('INVALID_TOKEN', 'Token is invalid or expired', 401),
  invalidCredentials: define('INVALID_CREDENTIALS', 'Username or password is wrong', 401),
  registrationClosed: define('REGISTRATION_CLOSED', 'Registration is disabled on this server', 403),
  usernameTaken: define('USERNAME_TAKEN', 'That username is taken', 409),
  forbidden: define('FORBIDDEN', 'You are not allowed to do that', 403),
  notFound: define('NOT_FOUND', 'Not found', 404),
  userNotFound: define('USER_NOT_FOUND', 'User not found', 404),
  roomNotFound: define('ROOM_NOT_FOUND', 'Room not found', 404),
  messageNotFound: define('MESSAGE_NOT_FOUND', 'Message not found', 404),
  notMember: define('NOT_A_MEMBER', 'You are not a member of this room', 403),
  alreadyMember: define('ALREADY_MEMBER', 'Already a member of this room', 409),
  banned: define('BANNED', 'You are banned from this room', 403),
  muted: define('MUTED', 'You are muted in this room', 403),
  roomFull: define('ROOM_FULL', 'This room has reached its member limit', 409),
  readOnlyRoom: define('READ_ONLY_ROOM', 'Only admins can post in this room', 403),
  messageTooLong: define('MESSAGE_TOO_LONG', 'Message is too long', 400),
  messageDeleted: define('MESSAGE_DELETED', 'Message was deleted', 409),
  pollClosed: define('POLL_CLOSED', 'This poll is closed', 409),
  notAPoll: define('NOT_A_POLL', 'That message is not a poll', 400),
  fileTooLarge: define('FILE_TOO_LARGE', 'The file is larger than this room allows', 413),
  unsupportedFileType: define('UNSUPPORTED_FILE_TYPE', 'This room does not accept files of this type', 415),
  tooManyUploads: define('TOO_MANY_UPLOADS', 'Too many uploads not used by a message yet', 429),
  uploadIncomplete: define('UPLOAD_INCOMPLETE', 'The file has not been uploaded (completely) yet', 409),
  attachmentNotFound: define('ATTACHMENT_NOT_FOUND', 'Attachment not found', 404),
  lengthRequired: define('LENGTH_REQUIRED', 'Uploads need a Content-Length header', 411),
  contentBlocked: define('CONTENT_BLOCKED', "The room's moderation blocked this message", 422),
  conflict: define('CONFLICT', 'Conflict', 409),
  rateLimited: define('RATE_LIMITED', 'Too many requests, slow down', 429),
  aiNotConfigured: define('AI_NOT_CONFIGURED', 'AI is not configured on this server', 503),
  aiBusy: define('AI_BUSY', 'The AI assistant is busy; try again later', 503),
  aiDisabled: define('AI_DISABLED', 'The AI assistant is not enabled in this room', 403),
  aiUnavailable: define('AI_UNAVAILABLE', 'No AI provider could answer', 502),
  agentDisabled: define('AGENT_DISABLED', 'The agent is not enabled on this server', 503),
  agentBusy: define('AGENT_BUSY', 'Too many agent jobs are waiting; try again later', 503),
  agentJobNotFound: define('AGENT_JOB_NOT_FOUND', 'Agent job not found', 404),
  invalidApiKey: define('INVALID_API_KEY', 'API key is invalid or revoked', 401),
  invalidSignature: define('INVALID_SIGNATURE', 'Request signature is missing or invalid', 401),
  bridgeDisabled: define('BRIDGE_DISABLED', 'This bridge is not configured on this server', 404),
  webhookNotFound: define('WEBHOOK_NOT_FOUND', 'Webhook not found', 404),
  webhookDeliveryNotFound: define('WEBHOOK_DELIVERY_NOT_FOUND', 'Webhook delivery not found', 404),
  webhookUrlRefused: define('WEBHOOK_URL_REFUSED', 'This URL cannot receive webhooks', 400),
  tooManyWebhooks: define('TOO_MANY_WEBHOOKS', 'Too many webhooks; delete one first', 409),
  webhookDisabled: define('WEBHOOK_DISABLED', 'This webhook is disabled; enable it first', 409),
  unavailable: define('SERVICE_UNAVAILABLE', 'Service unavailable', 503),
  internal: define('INTERNAL', 'Internal server error', 500),
} as const;

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
