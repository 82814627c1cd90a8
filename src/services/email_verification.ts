/**
 * Email verification: a message with a single-use link (24 h) proves the owner reads the
 * address; `verify` marks it verified. A request answers the same, in the same time, whether
 * or not an account uses the address.
 */
import type { Db, User } from "../db/schema.ts";
import { normalizeEmail } from "../db/users_repo.ts";
import { errors } from "../errors.ts";
import type { Audit } from "./audit.ts";
import type { AuditActor } from "./audit_events.ts";
import { messages } from "./email_messages.ts";
import type { EmailTokens } from "./email_tokens.ts";
import type { Mail } from "./mail.ts";
import type { UserCache } from "./user_cache.ts";
import type { Clock } from "../platform/clock.ts";

/** What {@linkcode createEmailVerification} needs. */
export interface EmailVerificationDeps {
  db: Db;
  clock: Clock;
  mail: Mail;
  tokens: EmailTokens;
  audit: Audit;
  users: UserCache;
}

/** Verification messages and their links; see the module comment. */
export function createEmailVerification(deps: EmailVerificationDeps) {
  const { db, clock, mail, tokens, audit } = deps;

  /** Queues a verification message to the user's address in the caller's transaction. */
  async function queueFor(
    trx: Db,
    user: Pick<User, "id" | "email">,
    ip?: string | null,
  ) {
    if (!mail.settings.enabled || mail.settings.verification === "off") return;
    const token = await tokens.issue(trx, user.id, "verify_email", user.email);
    // No greeting: the address is not yet proven to be the named account's.
    await mail.queue(trx, messages.verifyEmail(user.email, token, mail.context(ip)));
  }

  return {
    queueFor,

    /**
     * A new link for an unverified account of `email`, at most one per minute and five per
     * hour; nothing for an unknown, verified or disabled one, with the same answer.
     */
    async request(email: string, actor: AuditActor): Promise<void> {
      mail.requireEnabled();
      await mail.evenly(async () => {
        const address = normalizeEmail(email);
        const allowed = await mail.allowTo(address, "verify_email");
        const user = await db.selectFrom("users").select(["id", "email"])
          .where("email", "=", address).where("status", "=", "active")
          .where("email_verified_at", "is", null).executeTakeFirst();
        if (!user || !allowed) return;
        await db.transaction().execute((trx) => queueFor(trx, user, actor.ip));
      });
    },

    /** Spends a verification link: the address it was sent to is now verified. */
    async verify(token: string, actor: AuditActor): Promise<User> {
      mail.requireEnabled();
      const spent = await tokens.consume(token, "verify_email");
      if (!spent) throw errors.invalidLinkToken();
      const user = await db.selectFrom("users").selectAll().where("id", "=", spent.userId)
        .executeTakeFirst();
      // A link to an address the account no longer has proves nothing about the current one.
      if (!user || user.status !== "active" || user.email !== spent.newEmail) {
        throw errors.invalidLinkToken();
      }
      const now = clock.now();
      const verifiedAt = user.email_verified_at ?? now;
      await db.transaction().execute(async (trx) => {
        await trx.updateTable("users").set({ email_verified_at: verifiedAt })
          .where("id", "=", user.id).execute();
        await audit(trx, {
          ...actor,
          action: "user.email_verified",
          outcome: "success",
          targetType: "user",
          targetId: user.id,
          details: { method: "link" },
        });
      });
      deps.users.forget(user.id);
      return { ...user, email_verified_at: verifiedAt };
    },
  };
}

/** Email verification; see {@linkcode createEmailVerification}. */
export type EmailVerification = ReturnType<typeof createEmailVerification>;
