import { Hono } from "hono";
import * as z from "zod";
import type { AppDeps, AppEnv } from "../app_types.ts";
import { errors } from "../errors.ts";
import { requireAdmin } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import { auditContext } from "./audit_context.ts";
import type { Services } from "../services/container.ts";
import { apiKeyView } from "./api_key_view.ts";

const listQuery = z.object({
  user_id: z.uuid().optional(),
  include_revoked: z.enum(["true", "false"]).default("false"),
  cursor: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const idParam = z.object({ id: z.string().max(64) });

/** `/api/v1/admin/api-keys`: every key, and revocation of any key. */
export function adminApiKeyRoutes(deps: AppDeps, services: Services) {
  const { db } = deps;
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
    .delete("/:id", requireAdmin("admin:write"), validate("param", idParam), async (c) => {
      const row = await db.selectFrom("api_keys").select("id")
        .where("id", "=", c.req.valid("param").id).where("revoked_at", "is", null)
        .executeTakeFirst();
      if (!row) throw errors.notFound("No such API key");
      await services.apiKeys.revoke(row.id, auditContext(c), "admin");
      return c.body(null, 204);
    });
}
