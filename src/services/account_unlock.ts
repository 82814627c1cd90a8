/**
 * Lockout recovery: when an account's per-email failure budget is spent (somebody is guessing
 * its password from networks it never signed in from), its owner gets, at most once per guard
 * window, a single-use link (1 h). Spending it gives a device credential: a login with it is
 * judged by that device's own budget, so the owner signs in from a new device while the
 * attack goes on. The password is still required.
 */
import type { Db } from "../db/schema.ts";
import { errors } from "../errors.ts";
import type { CounterStore } from "../platform/counter_store.ts";
import type { Audit } from "./audit.ts";
import type { AuditActor } from "./audit_events.ts";
import type { DeviceTokens } from "./device_tokens.ts";
import { messages, recipientOf } from "./email_messages.ts";
import type { EmailTokens } from "./email_tokens.ts";
import type { Mail } from "./mail.ts";
import type { Logger } from "../platform/logger.ts";

/** What {@linkcode createAccountUnlock} needs. */
export interface AccountUnlockDeps {
  db: Db;
  counters: CounterStore;
  mail: Mail;
  tokens: EmailTokens;
  audit: Audit;
  devices: DeviceTokens;
  /** LOGIN_WINDOW_MINUTES: at most one link per account per window. */
  windowMinutes: number;
  logger?: Logger;
}

/** Unlock links and their device credentials; see the module comment. */
export function createAccountUnlock(deps: AccountUnlockDeps) {
  const { db, mail, tokens, audit } = deps;

  /** Queues the link to an active account, within its address's share of mail. */
  async function queueLink(userId: string, actor: AuditActor) {
    const user = await db.selectFrom("users").select(["id", "email", "name", "email_verified_at"])
      .where("id", "=", userId).where("status", "=", "active").executeTakeFirst();
    if (!user || !await mail.allowTo(user.email, "unlock")) return;
    await db.transaction().execute(async (trx) => {
      const token = await tokens.issue(trx, user.id, "unlock");
      await mail.queue(trx, messages.unlock(recipientOf(user), token, mail.context(actor.ip)));
      await audit(trx, {
        ...actor,
        action: "auth.unlock_offered",
        outcome: "success",
        targetType: "user",
        targetId: user.id,
      });
    });
  }

  return {
    /**
     * A login was just refused for the spent email budget of `login` (an existing account's id,
     * or the name an unknown one was tried under): queue an unlock link to an existing, active
     * account unless one went out in this window or its address had its share of mail this
     * hour. The window's counter is hit for unknown names too, so a refusal costs the same
     * whether or not the account exists. Never throws: a login is being answered.
     */
    async offer(login: { userId?: string; name: string }, actor: AuditActor): Promise<void> {
      try {
        if (!mail.settings.enabled) return;
        const windowMs = deps.windowMinutes * 60_000;
        const sent = await deps.counters.hit(`mail:unlock:${login.userId ?? login.name}`, windowMs);
        if (sent.count > 1 || !login.userId) return;
        await queueLink(login.userId, actor);
      } catch (error) {
        deps.logger?.error("unlock link not queued", { user_id: login.userId, error });
      }
    },

    /** Spends an unlock link: a device credential for its account. */
    async unlock(
      token: string,
      actor: AuditActor,
    ): Promise<{ userId: string; deviceToken: string }> {
      mail.requireEnabled();
      const spent = await tokens.consume(token, "unlock");
      const user = spent && await db.selectFrom("users").select("id")
        .where("id", "=", spent.userId).where("status", "=", "active").executeTakeFirst();
      if (!user) throw errors.invalidLinkToken();
      await audit(db, {
        ...actor,
        action: "auth.unlocked",
        outcome: "success",
        targetType: "user",
        targetId: user.id,
      });
      return { userId: user.id, deviceToken: await deps.devices.issue(user.id) };
    },
  };
}

/** Lockout recovery; see {@linkcode createAccountUnlock}. */
export type AccountUnlock = ReturnType<typeof createAccountUnlock>;
