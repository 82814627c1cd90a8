import { Hono } from "hono";
import * as z from "zod";
import type { AppDeps, AppEnv } from "../app_types.ts";
import type { User } from "../db/schema.ts";
import { findUserById } from "../db/users_repo.ts";
import { errors } from "../errors.ts";
import { requireScope } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import { auditContext } from "./audit_context.ts";
import { passwordField } from "./password_field.ts";
import { revokeSessionsAudited } from "./session_revocation.ts";
import type { Services } from "../services/container.ts";
import { checkPassword } from "../services/password_policy.ts";
import { hashPassword, verifyPassword } from "../services/passwords.ts";
import { iso, userView } from "../services/user_view.ts";

const patchBody = z.object({ name: z.string().trim().min(1).max(200).nullable() });
const passwordBody = z.object({
  current_password: passwordField,
  new_password: passwordField,
  revoke_api_keys: z.boolean().default(false),
});
const sessionParam = z.object({ id: z.string().max(64) });
const JSON_CONTENT = { "content-type": "application/json" };

/** `/api/v1/me`: the caller's profile, password and sessions. */
export function meRoutes(deps: AppDeps, services: Services) {
  const { db, clock, hasher, config } = deps;

  // Reads for GET come from the per-process user cache; writes read the row fresh.
  const currentUser = async (userId: string, fresh = true) => {
    const user = fresh ? await findUserById(db, userId) : await services.users.get(userId);
    if (!user || user.status !== "active") throw errors.unauthorized("invalid_token");
    return user;
  };
  // The body of GET /me, serialised once per cached read of the user.
  const bodies = new WeakMap<User, string>();
  const meBody = (user: User) => {
    let body = bodies.get(user);
    if (body === undefined) bodies.set(user, body = JSON.stringify({ user: userView(user) }));
    return body;
  };

  return new Hono<AppEnv>()
    .get("/", requireScope("me:read"), async (c) => {
      const user = await currentUser(c.get("principal")!.userId, false);
      return c.body(meBody(user), 200, JSON_CONTENT);
    })
    .patch("/", requireScope("me:write"), validate("json", patchBody), async (c) => {
      const user = await currentUser(c.get("principal")!.userId);
      const { name } = c.req.valid("json");
      const now = clock.now();
      await db.updateTable("users").set({ name, updated_at: now }).where("id", "=", user.id)
        .execute();
      services.users.forget(user.id);
      return c.json({ user: userView({ ...user, name, updated_at: now }) });
    })
    .post("/password", requireScope("me:write"), validate("json", passwordBody), async (c) => {
      const principal = c.get("principal")!;
      const user = await currentUser(principal.userId);
      const body = c.req.valid("json");
      const current = await verifyPassword(
        user.password_hash,
        body.current_password,
        hasher,
      );
      if (!current.ok) {
        throw errors.validation([{ field: "current_password", message: "is incorrect" }]);
      }
      const problems = await checkPassword(body.new_password, {
        email: user.email,
        name: user.name ?? undefined,
        minLength: config.passwordMinLength,
        field: "new_password",
      });
      if (problems.length > 0) throw errors.validation(problems);
      const hash = await hashPassword(body.new_password, hasher);
      const revokedKeys = await db.transaction().execute(async (trx) => {
        await trx.updateTable("users").set({ password_hash: hash, updated_at: clock.now() })
          .where("id", "=", user.id).execute();
        const revoked = await services.sessions.revokeAll(
          trx,
          user.id,
          "password_changed",
          principal.sessionId,
        );
        const keys = body.revoke_api_keys
          ? await services.apiKeys.revokeAllOf(trx, user.id, auditContext(c), "password_changed")
          : [];
        await services.audit(trx, {
          ...auditContext(c),
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
      services.apiKeys.forget(revokedKeys);
      services.users.forget(user.id);
      return c.body(null, 204);
    })
    .get("/sessions", requireScope("me:read"), async (c) => {
      const principal = c.get("principal")!;
      const now = clock.now();
      const rows = await db.selectFrom("sessions")
        .select(["id", "created_at", "last_used_at", "ip", "user_agent"])
        .where("user_id", "=", principal.userId).where("revoked_at", "is", null)
        .where("expires_at", ">", now).orderBy("created_at", "desc").execute();
      return c.json({
        sessions: rows.map((s) => ({
          id: s.id,
          created_at: iso(s.created_at),
          last_used_at: iso(s.last_used_at),
          ip: s.ip,
          user_agent: s.user_agent,
          current: s.id === principal.sessionId,
        })),
      });
    })
    .delete(
      "/sessions/:id",
      requireScope("me:write"),
      validate("param", sessionParam),
      async (c) => {
        const principal = c.get("principal")!;
        const { id } = c.req.valid("param");
        const revoked = await revokeSessionsAudited(
          c,
          { db, services },
          { userId: principal.userId, sessionId: id },
          "user_revoked",
        );
        if (revoked.sessions.length === 0) throw errors.notFound("No such active session");
        return c.body(null, 204);
      },
    );
}
