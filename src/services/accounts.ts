/**
 * The account service: every write to an account goes through here or through
 * {@linkcode createAccountAdmin} (registration, profile, password here; status, role,
 * deletion there). Each operation owns its transaction, its audit event and the
 * user-cache invalidation; routes and the console only parse input, call these, and
 * answer.
 */
import type { Db, User } from "../db/schema.ts";
import { findUserById, insertUser, type NewUserInput, normalizeEmail } from "../db/users_repo.ts";
import { errors, problem } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { PasswordHasher } from "../platform/password_hasher.ts";
import type { ApiKeyService } from "./api_keys.ts";
import type { Audit } from "./audit.ts";
import type { AuditActor } from "./audit_events.ts";
import { checkPassword } from "./password_policy.ts";
import { hashPassword } from "./passwords.ts";
import type { SessionService } from "./sessions.ts";
import type { UserCache } from "./user_cache.ts";
import { isUniqueViolation } from "../db/unique_violation.ts";
import { messages, recipientOf } from "./email_messages.ts";
import type { EmailVerification } from "./email_verification.ts";
import { ACCOUNT_LINKS, type EmailTokens, retireEmailTokens } from "./email_tokens.ts";
import type { Mail } from "./mail.ts";
import type { SecurityNotices } from "./security_notices.ts";

/** Dependencies and policy of {@linkcode createAccountService}. */
export interface AccountDeps {
  db: Db;
  clock: Clock;
  hasher: PasswordHasher;
  sessions: SessionService;
  apiKeys: ApiKeyService;
  audit: Audit;
  users: UserCache;
  /** REGISTRATION_ENABLED. */
  registrationEnabled: boolean;
  /** PASSWORD_MIN_LENGTH. */
  passwordMinLength: number;
  /** The current password re-entered, under the login guard (login.ts `confirm`). */
  confirmPassword: ConfirmPassword;
  mail: Mail;
  /** Queues the verification message of a new account. */
  verification: Pick<EmailVerification, "queueFor">;
  /** The "choose your password" link of a registration attempt on an unconfirmed account. */
  tokens: Pick<EmailTokens, "issue">;
  notices: SecurityNotices;
}

/** Checks a signed-in user's re-entered password under the login guard; true when right. */
export type ConfirmPassword = (
  user: User,
  password: string,
  actor: AuditActor,
  method: "password_change" | "email_change",
) => Promise<boolean>;

/** What registration answers: the account, or (EMAIL_VERIFICATION=required) only that it was taken in. */
export type Registration = { user: User } | { accepted: true };

/**
 * Inserts an account and its `user.registered` event inside the caller's transaction:
 * the one way an account comes into being (registration, `citadel admin create`).
 */
export async function insertRegistered(
  trx: Db,
  input: NewUserInput,
  context: { audit: Audit; now: number; actor: AuditActor; method: string },
): Promise<User> {
  const created = await insertUser(trx, input, context.now);
  await context.audit(trx, {
    ...context.actor,
    action: "user.registered",
    outcome: "success",
    targetType: "user",
    targetId: created.id,
    details: { method: context.method, role: created.role },
  });
  return created;
}

/** Builds the account service; one per app. */
export function createAccountService(deps: AccountDeps) {
  const { db, clock, hasher, sessions, apiKeys, audit, users } = deps;

  const policyProblems = (
    password: string,
    user: { email: string; name?: string },
    field?: string,
  ) =>
    checkPassword(password, {
      email: user.email,
      name: user.name,
      minLength: deps.passwordMinLength,
      field,
    });

  /**
   * Registration under EMAIL_VERIFICATION=required, after the password was hashed; see
   * `register`. The owner of an address that already has an account hears of the attempt;
   * when that account was never confirmed (perhaps registered by someone else first), the
   * message carries a link to choose the password, which makes the account theirs.
   */
  async function registerQuietly(
    input: { email: string; name?: string },
    passwordHash: string,
    actor: AuditActor,
  ): Promise<Registration> {
    // Counted for new and known addresses alike; it only limits notices to a known one.
    const allowed = await deps.mail.allowTo(input.email, "registration");
    const context = deps.mail.context(actor.ip);
    try {
      await db.transaction().execute(async (trx) => {
        const existing = await trx.selectFrom("users")
          .select(["id", "email", "name", "status", "email_verified_at"])
          .where("email", "=", input.email).executeTakeFirst();
        if (!existing) {
          const user = await insertRegistered(
            trx,
            { email: input.email, passwordHash, name: input.name },
            { audit, now: clock.now(), actor, method: "password" },
          );
          await deps.verification.queueFor(trx, user, actor.ip);
        } else if (allowed && existing.status === "active") {
          const to = recipientOf(existing);
          const token = existing.email_verified_at === null
            ? await deps.tokens.issue(trx, existing.id, "password_reset")
            : undefined;
          await deps.mail.queue(trx, messages.registrationAttempt(to, context, token));
        }
      });
    } catch (error) {
      // A concurrent registration of the same address won: the same answer.
      if (!isUniqueViolation(error)) throw error;
    }
    return { accepted: true };
  }

  return {
    /**
     * Self-service registration with a password that passes the policy. With
     * EMAIL_VERIFICATION=required the answer never tells whether the address had an account:
     * a new one gets its verification message, an existing one's owner a notice, and both
     * callers the same `{accepted}` in the same time.
     */
    async register(
      input: { email: string; password: string; name?: string },
      actor: AuditActor,
    ): Promise<Registration> {
      if (!deps.registrationEnabled) {
        throw problem("registration_disabled", { detail: "Registration is disabled" });
      }
      const problems = await policyProblems(input.password, input);
      if (problems.length > 0) throw errors.validation(problems);
      const email = normalizeEmail(input.email);
      if (deps.mail.settings.verification === "required") {
        // Hashed first: the padding then hides the writes, whatever the hash costs.
        const passwordHash = await hashPassword(input.password, hasher);
        return await deps.mail.evenly(() =>
          registerQuietly({ email, name: input.name }, passwordHash, actor)
        );
      }
      const passwordHash = await hashPassword(input.password, hasher);
      try {
        return await db.transaction().execute(async (trx) => {
          const existing = await trx.selectFrom("users").select("id")
            .where("email", "=", email).executeTakeFirst();
          if (existing) throw errors.emailTaken();
          const user = await insertRegistered(
            trx,
            { email, passwordHash, name: input.name },
            { audit, now: clock.now(), actor, method: "password" },
          );
          await deps.verification.queueFor(trx, user, actor.ip);
          return { user };
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw errors.emailTaken();
        throw error;
      }
    },

    /**
     * The caller's own active account; a disabled or deleted one is 401 `invalid_token`.
     * `cached` reads through the per-process cache (the read-only hot path).
     */
    async current(userId: string, options: { cached?: boolean } = {}) {
      const user = options.cached ? await users.get(userId) : await findUserById(db, userId);
      if (!user || user.status !== "active") throw errors.unauthorized("invalid_token");
      return user;
    },

    /** The user's sessions that have neither ended nor expired, newest first. */
    async activeSessions(userId: string) {
      return await db.selectFrom("sessions")
        .select(["id", "created_at", "last_used_at", "ip", "user_agent"])
        .where("user_id", "=", userId).where("revoked_at", "is", null)
        .where("expires_at", ">", clock.now()).orderBy("created_at", "desc").execute();
    },

    /** The owner changes their display name. */
    async updateProfile(user: User, name: string | null): Promise<User> {
      const now = clock.now();
      await db.updateTable("users").set({ name, updated_at: now }).where("id", "=", user.id)
        .execute();
      users.forget(user.id);
      return { ...user, name, updated_at: now };
    },

    /**
     * The owner changes their password: the current one must match and the new one pass
     * the policy. Every other session ends; with `revokeApiKeys` every key too.
     */
    async changePassword(
      user: User,
      input: { current: string; next: string; revokeApiKeys: boolean; keepSessionId?: string },
      actor: AuditActor,
    ) {
      if (!await deps.confirmPassword(user, input.current, actor, "password_change")) {
        throw errors.validation([{ field: "current_password", message: "is incorrect" }]);
      }
      const problems = await policyProblems(
        input.next,
        { email: user.email, name: user.name ?? undefined },
        "new_password",
      );
      if (problems.length > 0) throw errors.validation(problems);
      const hash = await hashPassword(input.next, hasher);
      const revokedKeys = await db.transaction().execute(async (trx) => {
        await trx.updateTable("users").set({ password_hash: hash, updated_at: clock.now() })
          .where("id", "=", user.id).execute();
        const revoked = await sessions.revokeAll(
          trx,
          user.id,
          "password_changed",
          input.keepSessionId,
        );
        await retireEmailTokens(trx, user.id, ACCOUNT_LINKS, clock.now());
        const keys = input.revokeApiKeys
          ? await apiKeys.revokeAllOf(trx, user.id, actor, "password_changed")
          : [];
        await deps.notices.passwordChanged(trx, recipientOf(user), actor.ip);
        await audit(trx, {
          ...actor,
          action: "user.password_changed",
          outcome: "success",
          targetType: "user",
          targetId: user.id,
          details: {
            by_admin: false,
            sessions_revoked: revoked.length,
            api_keys_revoked: keys.length,
          },
        });
        return keys;
      });
      apiKeys.forget(revokedKeys);
      users.forget(user.id);
    },
  };
}

/** The account service; see {@linkcode createAccountService}. */
export type AccountService = ReturnType<typeof createAccountService>;
