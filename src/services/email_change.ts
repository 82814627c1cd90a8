/**
 * Changing the email address: the owner asks with their password, the new address gets a
 * confirmation link (24 h) and the old one a notice; the change happens when the link is
 * used, and the old address hears of it again.
 */
import type { ConfirmPassword } from "./accounts.ts";
import type { Db, User } from "../db/schema.ts";
import { isUniqueViolation } from "../db/unique_violation.ts";
import { normalizeEmail } from "../db/users_repo.ts";
import { errors } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { Audit } from "./audit.ts";
import type { AuditActor } from "./audit_events.ts";
import { messages, recipientOf } from "./email_messages.ts";
import { ACCOUNT_LINKS, type EmailTokens, retireEmailTokens } from "./email_tokens.ts";
import type { Mail } from "./mail.ts";
import type { SecurityNotices } from "./security_notices.ts";
import type { UserCache } from "./user_cache.ts";

/** What {@linkcode createEmailChange} needs. */
export interface EmailChangeDeps {
  db: Db;
  clock: Clock;
  /** The current password re-entered, under the login guard (login.ts `confirm`). */
  confirmPassword: ConfirmPassword;
  mail: Mail;
  tokens: EmailTokens;
  audit: Audit;
  notices: SecurityNotices;
  users: UserCache;
}

/** Email change requests and confirmations; see the module comment. */
export function createEmailChange(deps: EmailChangeDeps) {
  const { db, clock, mail, tokens, audit } = deps;

  const taken = async (executor: Db, email: string) =>
    (await executor.selectFrom("users").select("id").where("email", "=", email)
      .executeTakeFirst()) !== undefined;

  return {
    /**
     * The owner asks to move the account to `newEmail`. An address in use is 409
     * `email_taken`, except with EMAIL_VERIFICATION=required, where no answer may tell which
     * addresses have accounts: then the caller sees the same 202, in the same time, and their
     * own address gets the same notice; only the confirmation to the taken address is not
     * sent. At most one request a minute and five an hour per account and per new address.
     */
    async request(user: User, input: { newEmail: string; password: string }, actor: AuditActor) {
      mail.requireEnabled();
      if (!await deps.confirmPassword(user, input.password, actor, "email_change")) {
        throw errors.validation([{ field: "password", message: "is incorrect" }]);
      }
      const newEmail = normalizeEmail(input.newEmail);
      if (newEmail === user.email) {
        throw errors.validation([{ field: "new_email", message: "is already your address" }]);
      }
      const hidden = mail.settings.verification === "required";
      const work = async () => {
        const inUse = await taken(db, newEmail);
        if (inUse && !hidden) throw errors.emailTaken();
        const allowed = await mail.allowTo(newEmail, "email_change") &&
          await mail.allowTo(`account:${user.id}`, "email_change");
        if (!allowed) return;
        const context = mail.context(actor.ip);
        await db.transaction().execute(async (trx) => {
          if (!inUse) {
            const token = await tokens.issue(trx, user.id, "email_change", newEmail);
            await mail.queue(trx, messages.emailChangeConfirm(newEmail, token, context));
          }
          await mail.queue(trx, messages.emailChangeNotice(recipientOf(user), newEmail, context));
          await audit(trx, {
            ...actor,
            action: "user.email_change_requested",
            outcome: "success",
            targetType: "user",
            targetId: user.id,
          });
        });
      };
      await (hidden ? mail.evenly(work) : work());
    },

    /** Spends a confirmation link: the account's address becomes the new one, verified. */
    async confirm(token: string, actor: AuditActor): Promise<User> {
      mail.requireEnabled();
      const spent = await tokens.consume(token, "email_change");
      const user = spent && await db.selectFrom("users").selectAll()
        .where("id", "=", spent.userId).where("status", "=", "active").executeTakeFirst();
      if (!spent?.newEmail || !user) throw errors.invalidLinkToken();
      const newEmail = spent.newEmail;
      const now = clock.now();
      try {
        await db.transaction().execute(async (trx) => {
          if (await taken(trx, newEmail)) throw errors.emailTaken();
          await trx.updateTable("users")
            .set({ email: newEmail, email_verified_at: now, updated_at: now })
            .where("id", "=", user.id).execute();
          // Links sent to the old address (a reset above all) must not outlive it.
          await retireEmailTokens(trx, user.id, [...ACCOUNT_LINKS, "verify_email"], now);
          await audit(trx, {
            ...actor,
            action: "user.email_changed",
            outcome: "success",
            targetType: "user",
            targetId: user.id,
          });
          await deps.notices.emailChanged(
            trx,
            recipientOf(user),
            newEmail,
            actor.ip,
          );
        });
      } catch (error) {
        // Another account took the address between the check and the write.
        if (isUniqueViolation(error)) throw errors.emailTaken();
        throw error;
      }
      deps.users.forget(user.id);
      return { ...user, email: newEmail, email_verified_at: now, updated_at: now };
    },
  };
}

/** Email change; see {@linkcode createEmailChange}. */
export type EmailChange = ReturnType<typeof createEmailChange>;
