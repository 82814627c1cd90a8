import { Hono } from "hono";
import * as z from "zod";
import type { AppDeps, AppEnv, Principal } from "../app_types.ts";
import type { Role, User } from "../db/schema.ts";
import { countUsersWithRole, findUserById } from "../db/users_repo.ts";
import { AppError, errors } from "../errors.ts";
import { requireAdmin } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import { auditContext } from "./audit_context.ts";
import { revokeSessionsAudited } from "./session_revocation.ts";
import type { Services } from "../services/container.ts";
import { fromBase64Url, toBase64Url } from "../lib/crypto.ts";
import { mayActOn, ROLES } from "../services/roles.ts";
import { userView } from "../services/user_view.ts";

const listQuery = z.object({
  status: z.enum(["active", "disabled"]).optional(),
  role: z.enum(ROLES).optional(),
  email_prefix: z.string().trim().toLowerCase().min(1).max(320).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const idParam = z.object({ id: z.uuid("must be a user id") });
const patchBody = z.object({
  status: z.enum(["active", "disabled"]).optional(),
  role: z.enum(ROLES).optional(),
}).refine((b) => b.status !== undefined || b.role !== undefined, "status or role is required");

const revokeBody = z.object({ revoke_api_keys: z.boolean().default(false) });

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeCursor(user: User): string {
  return toBase64Url(encoder.encode(JSON.stringify([user.created_at, user.id])));
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const [createdAt, id] = JSON.parse(decoder.decode(fromBase64Url(cursor)));
    if (Number.isInteger(createdAt) && typeof id === "string") return [createdAt, id];
  } catch { /* reported below */ }
  throw errors.validation([{ field: "cursor", message: "is not a cursor this API returned" }]);
}

const lastSuperAdmin = () =>
  new AppError(409, "last_super_admin", {
    detail: "The last active super admin cannot be demoted, disabled or deleted",
  });

/** `/api/v1/admin/users`: list, read, update, delete users and revoke their sessions. */
export function adminUserRoutes(deps: AppDeps, services: Services) {
  const { db, clock } = deps;

  const load = async (id: string) => {
    const user = await findUserById(db, id);
    if (!user) throw errors.notFound("No such user");
    return user;
  };

  // Least privilege: only a super admin may act on a super admin.
  const assertMayModify = (actor: Principal, target: User) => {
    if (!mayActOn(actor.role, target.role)) throw errors.forbidden();
  };

  const assertNotLastSuperAdmin = async (target: User) => {
    if (target.role === "super_admin" && target.status === "active") {
      if (await countUsersWithRole(db, "super_admin") <= 1) throw lastSuperAdmin();
    }
  };

  return new Hono<AppEnv>()
    .get("/", requireAdmin("admin:read"), validate("query", listQuery), async (c) => {
      const q = c.req.valid("query");
      let query = db.selectFrom("users").selectAll().orderBy("created_at").orderBy("id")
        .limit(q.limit + 1);
      if (q.status) query = query.where("status", "=", q.status);
      if (q.role) query = query.where("role", "=", q.role);
      if (q.email_prefix) {
        // substr() compares literally: no LIKE wildcards to escape, no case folding surprises.
        const prefix = q.email_prefix;
        query = query.where((eb) =>
          eb(eb.fn("substr", ["email", eb.val(1), eb.val(prefix.length)]), "=", prefix)
        );
      }
      if (q.cursor) {
        const [createdAt, id] = decodeCursor(q.cursor);
        query = query.where((eb) =>
          eb.or([
            eb("created_at", ">", createdAt),
            eb.and([eb("created_at", "=", createdAt), eb("id", ">", id)]),
          ])
        );
      }
      const rows = await query.execute();
      const page = rows.slice(0, q.limit);
      return c.json({
        users: page.map(userView),
        next_cursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]) : null,
      });
    })
    .get("/:id", requireAdmin("admin:read"), validate("param", idParam), async (c) => {
      return c.json({ user: userView(await load(c.req.valid("param").id)) });
    })
    .patch(
      "/:id",
      requireAdmin("admin:write"),
      validate("param", idParam),
      validate("json", patchBody),
      async (c) => {
        const actor = c.get("principal")!;
        const target = await load(c.req.valid("param").id);
        const body = c.req.valid("json");
        assertMayModify(actor, target);
        const roleChanges = body.role !== undefined && body.role !== target.role;
        if (roleChanges && actor.role !== "super_admin") throw errors.forbidden();
        const demotes = roleChanges && target.role === "super_admin";
        const disables = body.status === "disabled" && target.status === "active";
        if (demotes || disables) await assertNotLastSuperAdmin(target);
        const updated: User = {
          ...target,
          role: (body.role ?? target.role) as Role,
          status: body.status ?? target.status,
          updated_at: clock.now(),
        };
        await db.transaction().execute(async (trx) => {
          await trx.updateTable("users")
            .set({ role: updated.role, status: updated.status, updated_at: updated.updated_at })
            .where("id", "=", target.id).execute();
          // Tokens carry the role, so a role change or a disable ends every session.
          const revoked = disables || roleChanges
            ? await services.sessions.revokeAll(
              trx,
              target.id,
              disables ? "disabled" : "role_changed",
            )
            : [];
          const enables = body.status === "active" && target.status === "disabled";
          await services.audit(trx, {
            ...auditContext(c),
            action: disables ? "user.disabled" : enables ? "user.enabled" : "user.updated",
            outcome: "success",
            targetType: "user",
            targetId: target.id,
            details: {
              fields: Object.keys(body),
              role: updated.role,
              status: updated.status,
              reason: "admin",
              sessions_revoked: revoked.length,
            },
          });
        });
        services.users.forget(target.id);
        return c.json({ user: userView(updated) });
      },
    )
    .delete("/:id", requireAdmin("admin:write"), validate("param", idParam), async (c) => {
      const target = await load(c.req.valid("param").id);
      assertMayModify(c.get("principal")!, target);
      await assertNotLastSuperAdmin(target);
      await db.transaction().execute(async (trx) => {
        await services.sessions.revokeAll(trx, target.id, "deleted");
        await trx.deleteFrom("users").where("id", "=", target.id).execute();
        await services.audit(trx, {
          ...auditContext(c),
          action: "user.deleted",
          outcome: "success",
          targetType: "user",
          targetId: target.id,
          details: { reason: "admin" },
        });
      });
      services.users.forget(target.id);
      return c.body(null, 204);
    })
    .post(
      "/:id/revoke-sessions",
      requireAdmin("admin:write"),
      validate("param", idParam),
      validate("json", revokeBody),
      async (c) => {
        const target = await load(c.req.valid("param").id);
        assertMayModify(c.get("principal")!, target);
        const revoked = await revokeSessionsAudited(
          c,
          { db, services },
          { userId: target.id, apiKeys: c.req.valid("json").revoke_api_keys },
          "admin_revoked",
        );
        return c.json({
          revoked: revoked.sessions.length,
          api_keys_revoked: revoked.apiKeys.length,
        });
      },
    );
}
