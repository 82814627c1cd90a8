import { Hono } from "hono";
import * as z from "zod";
import type { AppDeps, AppEnv } from "../app_types.ts";
import { errors } from "../errors.ts";
import { requireAdmin } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import { auditContext } from "./audit_context.ts";
import type { Services } from "../services/container.ts";
import { mayActOn } from "../services/roles.ts";
import { apiKeyView } from "./api_key_view.ts";

const listQuery = z.object({
  user_id: z.uuid().optional(),
  include_revoked: z.enum(["true", "false"]).default("false"),
  cursor: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const idParam = z.object({ id: z.string().max(64) });
const patchBody = z.object({
  rate_limit_per_minute: z.number().int().min(1).max(1e9).nullable(),
});

/** `/api/v1/admin/api-keys`: every key, an admin's rate limit for one, and revocation. */
export function adminApiKeyRoutes(deps: AppDeps, services: Services) {
  const { db } = deps;

  // A key is acted on with its owner's protection: only a super admin may touch a
  // super admin's keys, as with the account itself.
  const loadModifiable = async (
    c: { get(key: "principal"): AppEnv["Variables"]["principal"] },
    id: string,
  ) => {
    const row = await db.selectFrom("api_keys as k").innerJoin("users as u", "u.id", "k.user_id")
      .select(["k.id", "u.role as owner_role"]).where("k.id", "=", id)
      .where("k.revoked_at", "is", null).executeTakeFirst();
    if (!row) throw errors.notFound("No such API key");
    if (!mayActOn(c.get("principal")!.role, row.owner_role)) throw errors.forbidden();
    return row;
  };

  return new Hono<AppEnv>()
    .get("/", requireAdmin("admin:read"), validate("query", listQuery), async (c) => {
      const q = c.req.valid("query");
      let query = db.selectFrom("api_keys").selectAll().orderBy("id").limit(q.limit + 1);
      if (q.user_id) query = query.where("user_id", "=", q.user_id);
      if (q.include_revoked === "false") query = query.where("revoked_at", "is", null);
      if (q.cursor) query = query.where("id", ">", q.cursor);
      const rows = await query.execute();
      const page = rows.slice(0, q.limit);
      return c.json({
        api_keys: page.map((row) => ({ ...apiKeyView(row), user_id: row.user_id })),
        next_cursor: rows.length > q.limit ? page[page.length - 1].id : null,
      });
    })
    .patch(
      "/:id",
      requireAdmin("admin:write"),
      validate("param", idParam),
      validate("json", patchBody),
      async (c) => {
        const row = await loadModifiable(c, c.req.valid("param").id);
        const limit = c.req.valid("json").rate_limit_per_minute;
        await services.apiKeys.setRateLimit(row.id, limit, auditContext(c));
        const updated = await db.selectFrom("api_keys").selectAll().where("id", "=", row.id)
          .executeTakeFirstOrThrow();
        return c.json({ api_key: { ...apiKeyView(updated), user_id: updated.user_id } });
      },
    )
    .delete("/:id", requireAdmin("admin:write"), validate("param", idParam), async (c) => {
      const row = await loadModifiable(c, c.req.valid("param").id);
      await services.apiKeys.revoke(row.id, auditContext(c), "admin");
      return c.body(null, 204);
    });
}
