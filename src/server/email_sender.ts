/**
 * The email outbox's background sender of a serving process: the transport the configuration
 * asks for (SMTP, or `.eml` files under DATA_DIR/mail in development), polled every second.
 * Only the process that owns the deps runs it (the supervisor with --workers); the lease on
 * each row keeps two hosts from sending one message at once.
 */
import type { AppDeps } from "../app_types.ts";
import { type MailTransport, transportFor } from "../platform/mail_transport.ts";
import { dataDirectory } from "../platform/secret_files.ts";
import { recordAudit } from "../services/audit.ts";
import { createOutboxSender, outboxCipher, type OutboxSender } from "../services/email_outbox.ts";
import { createPepper } from "../services/pepper.ts";
import { messageIdDomain } from "../services/mail.ts";

/** A running sender; `stop` waits for a send in progress and closes the transport. */
export interface RunningSender {
  stop(): Promise<void>;
}

/**
 * The outbox sender over the configured transport, not started, and the transport to close
 * after; undefined in production without SMTP_URL. The config's data-directory secrets must be
 * resolved (the pepper keys the bodies' cipher).
 */
export async function buildEmailSender(
  deps: AppDeps,
): Promise<{ sender: OutboxSender; transport: MailTransport } | undefined> {
  const { config, db, clock, logger, metrics } = deps;
  const transport = await transportFor(config.email, {
    production: config.appEnv === "production",
    mailDir: `${dataDirectory(config)}/mail`,
  });
  if (!transport) return undefined;
  const sender = createOutboxSender({
    db,
    clock,
    transport,
    logger,
    audit: (executor, event) => recordAudit(executor, event, { clock, metrics }),
    messageIdDomain: messageIdDomain(config),
    cipher: await outboxCipher(createPepper({
      hashPepper: config.hashPepper,
      jwtSecret: config.jwt.secret!,
      previousJwtSecret: config.jwt.previousSecret,
    })),
    metrics,
  });
  return { sender, transport };
}

/** Starts the sender, or answers undefined in production without SMTP_URL. */
export async function startEmailSender(deps: AppDeps): Promise<RunningSender | undefined> {
  const built = await buildEmailSender(deps);
  if (!built) return undefined;
  const { sender, transport } = built;
  sender.start();
  deps.logger.info("email sender started", { transport: transport.kind });
  return {
    async stop() {
      await sender.stop();
      transport.close();
    },
  };
}
