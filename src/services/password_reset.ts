/**
 * Password reset by email: a request queues a single-use link (30 min, only the newest one
 * works) and answers the same, in the same time, whether or not an account uses the address;
 * the reset sets a password that passes the policy, ends every session and every other link,
 * clears the login guard's counters for the account and tells the address its password
 * changed. What was set up on the account before its address was proven (everything, on an
 * account never confirmed) is removed too: the second factor, passkeys, linked provider
 * identities (but one whose provider vouched for this very address) and API keys; whoever
 * registered the address first may have set those up.
 */
import type { Db, User } from "../db/schema.ts";
import { normalizeEmail } from "../db/users_repo.ts";
import { errors } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { PasswordHasher } from "../platform/password_hasher.ts";
import type { Audit } from "./audit.ts";
import type { AuditActor } from "./audit_events.ts";
import { messages, recipientOf } from "./email_messages.ts";
import { ACCOUNT_LINKS, type EmailTokens, retireEmailTokens } from "./email_tokens.ts";
import { clientKey } from "../lib/client_ip.ts";
import { ACCOUNT_KEY_PREFIX } from "./login.ts";
import type { LoginGuard } from "./login_guard.ts";
import type { ApiKeyService } from "./api_keys.ts";
import type { MfaService } from "./mfa.ts";
import type { Mail } from "./mail.ts";
import { checkPassword } from "./password_policy.ts";
import { hashPassword } from "./passwords.ts";
import type { SessionService } from "./sessions.ts";
import type { UserCache } from "./user_cache.ts";

/** What {@linkcode createPasswordReset} needs. */
export interface PasswordResetDeps {
  db: Db;
  clock: Clock;
  hasher: PasswordHasher;
  mail: Mail;
  tokens: EmailTokens;
  audit: Audit;
  sessions: SessionService;
  guard: Pick<LoginGuard, "clear">;
  /** What an account never confirmed by its address loses on a reset. */
  mfa: Pick<MfaService, "removeFactor">;
  apiKeys: Pick<ApiKeyService, "revokeAllOf" | "forget">;
  users: UserCache;
  /** PASSWORD_MIN_LENGTH. */
  passwordMinLength: number;
}

/**
 * Removes the provider identities linked by `provenAt`, but one whose provider verified
 * this account's very address (its holder owns the address as much as the reset's reader).
 */
async function removeUnprovenIdentities(trx: Db, user: User, provenAt: number): Promise<void> {
  const identities = await trx.selectFrom("oauth_identities")
    .select(["id", "email", "email_verified", "created_at"])
    .where("user_id", "=", user.id).where("created_at", "<=", provenAt).execute();
  const vouched = (i: (typeof identities)[number]) =>
    i.email_verified === 1 && i.email !== null && normalizeEmail(i.email) === user.email;
  const ids = identities.filter((i) => !vouched(i)).map((i) => i.id);
  if (ids.length > 0) await trx.deleteFrom("oauth_identities").where("id", "in", ids).execute();
}

/** Reset links and resets; see the module comment. */
export function createPasswordReset(deps: PasswordResetDeps) {
  const { db, clock, mail, tokens, audit } = deps;

  const findActive = (where: { id: string } | { email: string }) => {
    const query = db.selectFrom("users").selectAll().where("status", "=", "active");
    return ("id" in where
      ? query.where("id", "=", where.id)
      : query.where("email", "=", where.email))
      .executeTakeFirst();
  };

  return {
    /** Queues a reset link to an active account of `email`; nothing otherwise, same answer. */
    async request(email: string, actor: AuditActor): Promise<void> {
      mail.requireEnabled();
      await mail.evenly(async () => {
        const address = normalizeEmail(email);
        const allowed = await mail.allowTo(address, "password_reset");
        const user = await findActive({ email: address });
        if (!user || !allowed) return;
        await db.transaction().execute(async (trx) => {
          const token = await tokens.issue(trx, user.id, "password_reset");
          await mail.queue(
            trx,
            messages.passwordReset(
              recipientOf(user),
              token,
              mail.context(actor.ip),
            ),
          );
        });
      });
    },

    /**
     * Sets the new password of the link's account. The password is checked before the link is
     * spent, so a refused password (422) leaves the link usable.
     */
    async reset(token: string, newPassword: string, actor: AuditActor): Promise<User> {
      mail.requireEnabled();
      const live = await tokens.peek(token, "password_reset");
      const user = live && await findActive({ id: live.userId });
      if (!user) throw errors.invalidLinkToken();
      const problems = await checkPassword(newPassword, {
        email: user.email,
        name: user.name ?? undefined,
        minLength: deps.passwordMinLength,
        field: "new_password",
      });
      if (problems.length > 0) throw errors.validation(problems);
      const hash = await hashPassword(newPassword, deps.hasher);
      if (!await tokens.consume(token, "password_reset")) throw errors.invalidLinkToken();
      const now = clock.now();
      let revokedKeys: string[] = [];
      await db.transaction().execute(async (trx) => {
        // The link reached the address, which proves it as well as a verification link does.
        await trx.updateTable("users").set({
          password_hash: hash,
          updated_at: now,
          email_verified_at: user.email_verified_at ?? now,
        }).where("id", "=", user.id).execute();
        const revoked = await deps.sessions.revokeAll(trx, user.id, "password_reset");
        // An account may have been registered by someone else before its owner proved the
        // address (and a confirmation link does not tell who set the account up): what was set
        // up before the proof (or in its very millisecond) is theirs, and goes with their
        // sessions.
        const provenAt = user.email_verified_at ?? Number.MAX_SAFE_INTEGER;
        if (user.mfa_enabled_at !== null && user.mfa_enabled_at <= provenAt) {
          await deps.mfa.removeFactor(trx, user.id);
        }
        await trx.deleteFrom("passkeys").where("user_id", "=", user.id)
          .where("created_at", "<=", provenAt).execute();
        await removeUnprovenIdentities(trx, user, provenAt);
        revokedKeys = await deps.apiKeys.revokeAllOf(
          trx,
          user.id,
          actor,
          "password_reset",
          provenAt,
        );
        await retireEmailTokens(trx, user.id, ACCOUNT_LINKS, now);
        await audit(trx, {
          ...actor,
          action: "user.password_reset",
          outcome: "success",
          targetType: "user",
          targetId: user.id,
          details: { sessions_revoked: revoked.length },
        });
        // Sent even with EMAIL_SECURITY_NOTICES=false: the reset's contract promises it.
        await mail.queue(trx, messages.passwordChanged(recipientOf(user), mail.context(actor.ip)));
      });
      deps.users.forget(user.id);
      deps.apiKeys.forget(revokedKeys);
      await deps.guard.clear(
        ACCOUNT_KEY_PREFIX + user.id,
        actor.ip ? clientKey(actor.ip) : undefined,
      );
      return { ...user, password_hash: hash, updated_at: now };
    },
  };
}

/** Password reset; see {@linkcode createPasswordReset}. */
export type PasswordReset = ReturnType<typeof createPasswordReset>;
