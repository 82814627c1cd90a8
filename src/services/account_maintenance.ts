/**
 * Account writes an operator makes from the server's shell (`citadel admin`, `citadel
 * users`): create an administrator, reset a password, retire inactive accounts. Like
 * the account service, each owns its transaction and its audit events (actor: system);
 * session revocations are seen by every server within a second (revocation list).
 */
import { ACCOUNT_LINKS, retireEmailTokens } from "./email_tokens.ts";
import type { Db, Role, User } from "../db/schema.ts";
import { normalizeEmail } from "../db/users_repo.ts";
import { insertRegistered } from "./accounts.ts";
import type { Clock } from "../platform/clock.ts";
import type { PasswordHasher } from "../platform/password_hasher.ts";
import { revokeApiKeys } from "./api_keys.ts";
import { type Audit, recordAudit } from "./audit.ts";
import { type AuditActor, SYSTEM_ACTOR } from "./audit_events.ts";
import { hashPassword } from "./passwords.ts";

/** What the maintenance operations need. */
export interface MaintenanceDeps {
  db: Db;
  hasher: PasswordHasher;
  clock: Clock;
}

/** An account `citadel users prune-inactive` would retire. */
export type InactiveAccount = Pick<
  User,
  "id" | "email" | "role" | "status" | "last_login_at" | "created_at"
>;

/** Statements stay under SQLite's limit on bound parameters. */
const CHUNK = 500;

/**
 * Revokes every open session of the given users, the way a logout-all does, and returns
 * how many were revoked. Servers pick the change up from `sessions.revoked_at`.
 */
async function revokeAllSessions(
  executor: Pick<Db, "updateTable">,
  userIds: string[],
  options: { reason: string; now: number },
): Promise<number> {
  let revoked = 0;
  for (let i = 0; i < userIds.length; i += CHUNK) {
    const result = await executor.updateTable("sessions")
      .set({ revoked_at: options.now, revoke_reason: options.reason })
      .where("user_id", "in", userIds.slice(i, i + CHUNK))
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    revoked += Number(result.numUpdatedRows);
  }
  return revoked;
}

const systemAudit = (clock: Clock): Audit => (executor, event) =>
  recordAudit(executor, event, { clock });

/** Creates an admin or super admin with a password the caller already checked. */
export async function createAdministrator(
  deps: MaintenanceDeps,
  input: { email: string; name: string | null; role: Role; password: string },
  actor: AuditActor = SYSTEM_ACTOR,
): Promise<User> {
  const passwordHash = await hashPassword(input.password, deps.hasher);
  return await deps.db.transaction().execute((trx) =>
    insertRegistered(trx, {
      email: normalizeEmail(input.email),
      name: input.name,
      role: input.role,
      passwordHash,
      emailVerified: true,
    }, { audit: systemAudit(deps.clock), now: deps.clock.now(), actor, method: "cli" })
  );
}

/**
 * Replaces a user's password (checked by the caller) and ends every session, and with
 * `revokeApiKeys` every API key; returns how many of each ended.
 */
export async function resetPassword(
  deps: MaintenanceDeps,
  user: User,
  password: string,
  options: { revokeApiKeys: boolean; actor?: AuditActor },
): Promise<{ sessions: number; apiKeys: number }> {
  const passwordHash = await hashPassword(password, deps.hasher);
  const now = deps.clock.now();
  return await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable("users").set({ password_hash: passwordHash, updated_at: now })
      .where("id", "=", user.id).execute();
    const sessions = await revokeAllSessions(trx, [user.id], { reason: "password_reset", now });
    await retireEmailTokens(trx, user.id, ACCOUNT_LINKS, now);
    const actor = options.actor ?? SYSTEM_ACTOR;
    const apiKeys = options.revokeApiKeys
      ? (await revokeApiKeys(trx, { userId: user.id }, {
        audit: systemAudit(deps.clock),
        now,
        actor,
        reason: "password_reset",
      })).length
      : 0;
    await systemAudit(deps.clock)(trx, {
      ...actor,
      action: "user.password_changed",
      outcome: "success",
      targetType: "user",
      targetId: user.id,
      details: { by_admin: true, sessions_revoked: sessions, api_keys_revoked: apiKeys },
    });
    return { sessions, apiKeys };
  });
}

/**
 * Accounts whose last login (or creation, when they never logged in) is before
 * `cutoff`, oldest first; super admins are never listed. Disabled accounts only when
 * `includeDisabled` (a deletion takes them too).
 */
export function inactiveAccounts(
  db: Db,
  cutoff: number,
  includeDisabled: boolean,
): Promise<InactiveAccount[]> {
  let query = db.selectFrom("users")
    .select(["id", "email", "role", "status", "last_login_at", "created_at"])
    .where("role", "!=", "super_admin")
    .where((eb) => eb(eb.fn.coalesce("last_login_at", "created_at"), "<", cutoff));
  if (!includeDisabled) query = query.where("status", "=", "active");
  return query.orderBy("created_at").orderBy("id").execute();
}

/** How many super admins are as inactive as `cutoff` says (they are never pruned). */
export async function countInactiveSuperAdmins(db: Db, cutoff: number): Promise<number> {
  const row = await db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n"))
    .where("role", "=", "super_admin")
    .where((eb) => eb(eb.fn.coalesce("last_login_at", "created_at"), "<", cutoff))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Disables (or with `remove` deletes) the given accounts and ends their sessions, in one
 * transaction, each audited; returns how many sessions were revoked.
 */
export async function retireAccounts(
  deps: Pick<MaintenanceDeps, "db" | "clock">,
  ids: string[],
  remove: boolean,
): Promise<number> {
  const now = deps.clock.now();
  return await deps.db.transaction().execute(async (trx) => {
    // Sessions have no foreign key to users: revoked rows stay behind as tombstones, so
    // every server still refuses their tokens after the user is gone.
    const reason = remove ? "deleted" : "disabled";
    const revoked = await revokeAllSessions(trx, ids, { reason, now });
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      if (remove) await trx.deleteFrom("users").where("id", "in", chunk).execute();
      else {
        await trx.updateTable("users").set({ status: "disabled", updated_at: now })
          .where("id", "in", chunk).execute();
      }
    }
    for (const id of ids) {
      await systemAudit(deps.clock)(trx, {
        ...SYSTEM_ACTOR,
        action: remove ? "user.deleted" : "user.disabled",
        outcome: "success",
        targetType: "user",
        targetId: id,
        details: { reason: "inactive" },
      });
    }
    return revoked;
  });
}
