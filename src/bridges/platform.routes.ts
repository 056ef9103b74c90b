import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors, isAppError } from '../errors/errors.js';
import type { Bridges } from './create-bridges.js';
import { interactionResponse, parseDiscordInteraction } from './platforms/discord.js';
import { parseSlackRequest } from './platforms/slack.js';
import { parseTelegramUpdate } from './platforms/telegram.js';
import { verifyDiscord, verifySlack, verifyTelegram } from './signatures.js';

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

function parseBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw Errors.badJson();
  }
}

/**
 * The platforms' webhooks. They are public (no Switchboard token): each request is authenticated
 * by the platform's own signature over the raw body, which is why this plugin reads bodies as bytes.
 * A message Switchboard refuses (a muted user, a blocked word) is still answered 200, so the
 * platform does not redeliver it for days; a failure on our side (the store is down) is a 5xx,
 * which the platform retries.
 */
export function platformRoutes(b: Bridges) {
  return async (app: FastifyInstance) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const config = { public: true };
    const schema = { tags: ['bridges'] };

    app.post(
      '/telegram/webhook',
      { config, schema: { ...schema, summary: 'Telegram Bot API updates (setWebhook)' } },
      async (req, reply) => {
        const tg = b.settings.telegram;
        if (!tg) throw Errors.bridgeDisabled('The Telegram bridge is not configured (TELEGRAM_BOT_TOKEN)');
        if (!verifyTelegram(header(req, 'x-telegram-bot-api-secret-token'), tg.webhookSecret)) {
          throw Errors.invalidSignature('X-Telegram-Bot-Api-Secret-Token is missing or wrong');
        }
        const inbound = parseOrRefuse(() => parseTelegramUpdate(parseBody(raw(req))));
        if (inbound) await ingestAccepting(b, req, inbound);
        return reply.send({ ok: true });
      },
    );

    app.post(
      '/slack/events',
      { config, schema: { ...schema, summary: 'Slack Events API requests' } },
      async (req, reply) => {
        const slack = b.settings.slack;
        if (!slack) throw Errors.bridgeDisabled('The Slack bridge is not configured (SLACK_SIGNING_SECRET)');
        const body = raw(req);
        const signed = verifySlack(
          {
            signature: header(req, 'x-slack-signature'),
            timestamp: header(req, 'x-slack-request-timestamp'),
          },
          body,
          slack.signingSecret,
          b.now(),
        );
        if (!signed) throw Errors.invalidSignature('X-Slack-Signature is missing, wrong or too old');
        const r = parseOrRefuse(() => parseSlackRequest(parseBody(body)));
        if (r.kind === 'challenge') return reply.send({ challenge: r.challenge });
        if (r.kind === 'message') await ingestAccepting(b, req, r.message);
        return reply.send({ ok: true });
      },
    );

    app.post(
      '/discord/interactions',
      { config, schema: { ...schema, summary: 'Discord interactions (slash commands)' } },
      async (req, reply) => {
        const discord = b.settings.discord;
        if (!discord?.publicKey || !b.discordKey)
          throw Errors.bridgeDisabled('Discord interactions are not configured (DISCORD_PUBLIC_KEY)');
        const body = raw(req);
        const signed = verifyDiscord(
          { signature: header(req, 'x-signature-ed25519'), timestamp: header(req, 'x-signature-timestamp') },
          body,
          b.discordKey,
        );
        if (!signed) throw Errors.invalidSignature('X-Signature-Ed25519 is missing or wrong');
        const i = parseOrRefuse(() => parseDiscordInteraction(parseBody(body), b.now()));
        if (i.kind !== 'command') return reply.send(interactionResponse(i));
        const refused = await ingestAccepting(b, req, i.message);
        return reply.send(interactionResponse(i, refused));
      },
    );
  };
}

function raw(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/** Parser TypeErrors are a 400 (a signed request that is not what the platform sends). */
function parseOrRefuse<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof TypeError) throw Errors.validation(err.message);
    throw err;
  }
}

/**
 * Brings the message in. Returns undefined once it is posted, or the reason Switchboard refused it
 * (then the request still succeeds: redelivering would be refused again). Other failures throw.
 */
async function ingestAccepting(
  b: Bridges,
  req: FastifyRequest,
  inbound: Parameters<Bridges['service']['ingest']>[0],
): Promise<string | undefined> {
  try {
    await b.service.ingest(inbound);
    b.counters.received(inbound.platform, 'posted');
    return undefined;
  } catch (err) {
    if (isAppError(err) && err.status < 500) {
      b.counters.received(inbound.platform, 'refused');
      req.log.info({ platform: inbound.platform, code: err.code }, 'bridged message refused');
      return err.message;
    }
    b.counters.received(inbound.platform, 'failed');
    throw err;
  }
}
