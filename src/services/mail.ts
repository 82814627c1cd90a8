/**
 * What the account flows need of email: whether it is configured, where links point, the
 * outbox to queue in (inside the caller's transaction), the per-address limits that keep
 * citadel from being turned into a mail bomb, and security notices.
 */
import type { Db } from "../db/schema.ts";
import { problem } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { CounterStore } from "../platform/counter_store.ts";
import { enqueueEmail, type QueuedMessage } from "./email_outbox.ts";
import { guardUnavailable } from "./login_guard.ts";
import type { MessageContext } from "./email_messages.ts";
import type { FieldCipher } from "../lib/field_crypto.ts";

/** The email settings the services read; built by {@linkcode mailSettings}. */
export interface MailSettings {
  /** False in production without SMTP_URL: the email endpoints answer 503. */
  enabled: boolean;
  /** EMAIL_LINK_BASE_URL, or `${PUBLIC_URL}/account`. */
  linkBase: string;
  verification: "off" | "optional" | "required";
  /** EMAIL_SECURITY_NOTICES: password, email and MFA changes, new networks, new API keys. */
  notices: boolean;
}

/** The configuration {@linkcode mailSettings} reads; `Config` fits. */
export interface MailConfig {
  appEnv: string;
  host: string;
  port: number;
  email: {
    smtpUrl?: string;
    publicUrl?: string;
    linkBaseUrl?: string;
    verification: "off" | "optional" | "required";
    securityNotices: boolean;
  };
}

/** The services' view of the email configuration. */
export function mailSettings(config: MailConfig): MailSettings {
  const { email } = config;
  const publicUrl = (email.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/+$/, "");
  return {
    enabled: email.smtpUrl !== undefined || config.appEnv !== "production",
    linkBase: email.linkBaseUrl ?? `${publicUrl}/account`,
    verification: email.verification,
    notices: email.securityNotices,
  };
}

/** The domain of Message-IDs: the host of PUBLIC_URL. */
export function messageIdDomain(config: Pick<MailConfig, "email">): string {
  try {
    return new URL(config.email.publicUrl ?? "").hostname || "citadel.localhost";
  } catch {
    return "citadel.localhost";
  }
}

/**
 * The least time an answer takes that must not reveal whether an account exists (the
 * `.../request` endpoints): the work for an existing account (a token, a queued message, a
 * commit) hides inside it.
 */
export const EVEN_ANSWER_MS = 250;

/** Messages per address: one per minute, five per hour. */
const ADDRESS_LIMITS = [{ windowMs: 60_000, max: 1 }, { windowMs: 3_600_000, max: 5 }];

/** Builds the mail helper of the account flows; one per app. */
export function createMail(deps: {
  settings: MailSettings;
  clock: Clock;
  counters: CounterStore;
  /** Seals message bodies (they carry link tokens); see `outboxCipher`. */
  cipher: () => Promise<FieldCipher>;
}) {
  const { settings, clock, counters } = deps;

  /** The time and address a message describes. */
  const context = (ip?: string | null): MessageContext => ({
    linkBase: settings.linkBase,
    at: new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    ip: ip ?? undefined,
  });

  return {
    settings,
    context,

    /** Runs `work` and answers no sooner than {@linkcode EVEN_ANSWER_MS} after it started. */
    async evenly<T>(work: () => Promise<T>): Promise<T> {
      const started = performance.now();
      try {
        return await work();
      } finally {
        const wait = EVEN_ANSWER_MS - (performance.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    },

    /** 503 `email_not_configured` when email is off (production without SMTP_URL). */
    requireEnabled(): void {
      if (!settings.enabled) {
        throw problem("email_not_configured", {
          detail: "Email is not configured on this server (SMTP_URL)",
        });
      }
    },

    /**
     * Counts a message to `address` against its limits; false when one is spent. Counted
     * whether or not an account uses the address, so the limit says nothing about accounts.
     */
    async allowTo(address: string, purpose: string): Promise<boolean> {
      // In order, and only while allowed: the hour counts messages sent, not requests refused.
      for (const { windowMs, max } of ADDRESS_LIMITS) {
        let hit;
        try {
          hit = await counters.hit(`mail:${purpose}:${windowMs}:${address}`, windowMs);
        } catch (error) {
          // Without its counters the limit cannot hold: refuse (fail closed), as the guards do.
          throw guardUnavailable(error);
        }
        if (hit.count > max) return false;
      }
      return true;
    },

    /**
     * Queues `message` in the caller's transaction when email is on. Nothing goes to a
     * `.localhost` address (the placeholder of a super admin created with a username): it
     * could only fail, day after day.
     */
    async queue(executor: Pick<Db, "insertInto">, message: QueuedMessage): Promise<void> {
      if (settings.enabled && !/\.localhost$/i.test(message.to)) {
        await enqueueEmail(executor, message, clock.now(), await deps.cipher());
      }
    },
  };
}

/** The mail helper; see {@linkcode createMail}. */
export type Mail = ReturnType<typeof createMail>;
