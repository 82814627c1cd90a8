/**
 * What administrators do to accounts: read and list them, change status and role,
 * delete them, under the least-privilege rules (only a super admin acts on a super
 * admin or changes roles; the last active super admin stays). Each write owns its
 * transaction, audit event, session revocation and cache invalidation.
 */
import type { Role, User, UserStatus } from "../db/schema.ts";
import { countUsersWithRole, findUserById, normalizeEmail } from "../db/users_repo.ts";
import { errors, problem } from "../errors.ts";
import type { AccountDeps } from "./accounts.ts";
import type { AuditActor } from "./audit_events.ts";
import { mayActOn } from "./roles.ts";

/** A change an administrator asks for; see {@linkcode createAccountAdmin}'s `update`. */
export interface AccountChange {
  status?: UserStatus;
  role?: Role;
}

/** One page of the admin user listing, oldest first. */
export interface AccountQuery {
  status?: UserStatus;
  role?: Role;
  emailPrefix?: string;
  /** Continue after this (created_at, id). */
  after?: [number, string];
  limit: number;
}

const lastSuperAdmin = () =>
  problem("last_super_admin", {
    detail: "The last active super admin cannot be demoted, disabled or deleted",
  });

/** Builds the administrators' side of the account service; one per app. */
export function createAccountAdmin(
  deps: Pick<AccountDeps, "db" | "clock" | "sessions" | "audit" | "users">,
) {
  const { db, clock, sessions, audit, users } = deps;

  const load = async (id: string) => {
    const user = await findUserById(db, id);
    if (!user) throw errors.notFound("No such user");
    return user;
  };
  const assertMayModify = (actorRole: string, target: User) => {
    if (!mayActOn(actorRole, target.role)) throw errors.forbidden();
  };
  const assertNotLastSuperAdmin = async (target: User) => {
    if (target.role === "super_admin" && target.status === "active") {
      if (await countUsersWithRole(db, "super_admin") <= 1) throw lastSuperAdmin();
    }
  };

  return {
    /** Any account by id, or 404. */
    get: load,

    /** The admin listing: filters, oldest first, one page. */
    async list(query: AccountQuery): Promise<User[]> {
      let q = db.selectFrom("users").selectAll().orderBy("created_at").orderBy("id")
        .limit(query.limit);
      if (query.status) q = q.where("status", "=", query.status);
      if (query.role) q = q.where("role", "=", query.role);
      if (query.emailPrefix) {
        // substr() compares literally: no LIKE wildcards to escape, no case folding surprises.
        const prefix = normalizeEmail(query.emailPrefix);
        q = q.where((eb) =>
          eb(eb.fn("substr", ["email", eb.val(1), eb.val(prefix.length)]), "=", prefix)
        );
      }
      if (query.after) {
        const [createdAt, id] = query.after;
        q = q.where((eb) =>
          eb.or([
            eb("created_at", ">", createdAt),
            eb.and([eb("created_at", "=", createdAt), eb("id", ">", id)]),
          ])
        );
      }
      return await q.execute();
    },

    /**
     * An administrator changes an account's status or role. Only a super admin acts on a
     * super admin or changes roles; the last active super admin stays. Tokens carry the
     * role, so a role change or a disable ends every session.
     */
    async update(actorRole: string, targetId: string, change: AccountChange, actor: AuditActor) {
      const target = await load(targetId);
      assertMayModify(actorRole, target);
      const roleChanges = change.role !== undefined && change.role !== target.role;
      if (roleChanges && actorRole !== "super_admin") throw errors.forbidden();
      const demotes = roleChanges && target.role === "super_admin";
      const disables = change.status === "disabled" && target.status === "active";
      if (demotes || disables) await assertNotLastSuperAdmin(target);
      const updated: User = {
        ...target,
        role: change.role ?? target.role,
        status: change.status ?? target.status,
        updated_at: clock.now(),
      };
      await db.transaction().execute(async (trx) => {
        await trx.updateTable("users")
          .set({ role: updated.role, status: updated.status, updated_at: updated.updated_at })
          .where("id", "=", target.id).execute();
        const revoked = disables || roleChanges
          ? await sessions.revokeAll(trx, target.id, disables ? "disabled" : "role_changed")
          : [];
        const enables = change.status === "active" && target.status === "disabled";
        await audit(trx, {
          ...actor,
          action: disables ? "user.disabled" : enables ? "user.enabled" : "user.updated",
          outcome: "success",
          targetType: "user",
          targetId: target.id,
          details: {
            fields: Object.keys(change),
            role: updated.role,
            status: updated.status,
            reason: "admin",
            sessions_revoked: revoked.length,
          },
        });
      });
      users.forget(target.id);
      return updated;
    },

    /** An administrator deletes an account (never the last active super admin). */
    async remove(actorRole: string, targetId: string, actor: AuditActor) {
      const target = await load(targetId);
      assertMayModify(actorRole, target);
      await assertNotLastSuperAdmin(target);
      await db.transaction().execute(async (trx) => {
        await sessions.revokeAll(trx, target.id, "deleted");
        await trx.deleteFrom("users").where("id", "=", target.id).execute();
        await audit(trx, {
          ...actor,
          action: "user.deleted",
          outcome: "success",
          targetType: "user",
          targetId: target.id,
          details: { reason: "admin" },
        });
      });
      users.forget(target.id);
    },

    /** Checks that `actorRole` may act on the account `targetId`; returns it. */
    async assertMayActOn(actorRole: string, targetId: string) {
      const target = await load(targetId);
      assertMayModify(actorRole, target);
      return target;
    },
  };
}

/** The administrators' account service; see {@linkcode createAccountAdmin}. */
export type AccountAdmin = ReturnType<typeof createAccountAdmin>;
