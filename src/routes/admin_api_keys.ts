/**
 * Routes of `/api/v1/admin/api-keys`: every key for admins, one key's own rate limit, and
 * revocation.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { requireAdmin } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import { pageOf } from "./page.ts";
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
const patchBody = z.object({
  rate_limit_per_minute: z.number().int().min(1).max(1e9).nullable(),
});

/** `/api/v1/admin/api-keys`: every key, an admin's rate limit for one, and revocation. */
export function adminApiKeyRoutes(services: Services) {
  const { apiKeys } = services;
  const adminView = (row: Parameters<typeof apiKeyView>[0]) => ({
    ...apiKeyView(row),
    user_id: row.user_id,
  });

  return new Hono<AppEnv>()
    .get("/", requireAdmin("admin:read"), validate("query", listQuery), async (c) => {
      const q = c.req.valid("query");
      const rows = await apiKeys.listAll({
        userId: q.user_id,
        includeRevoked: q.include_revoked === "true",
        afterId: q.cursor,
        limit: q.limit + 1,
      });
      const { page, nextCursor } = pageOf(rows, q.limit, (last) => last.id);
      return c.json({ api_keys: page.map(adminView), next_cursor: nextCursor });
    })
    .patch(
      "/:id",
      requireAdmin("admin:write"),
      validate("param", idParam),
      validate("json", patchBody),
      async (c) => {
        const row = await apiKeys.findForAdmin(c.get("principal")!.role, c.req.valid("param").id);
        const updated = await apiKeys.setRateLimit(
          row.id,
          c.req.valid("json").rate_limit_per_minute,
          auditContext(c),
        );
        return c.json({ api_key: adminView(updated) });
      },
    )
    .delete("/:id", requireAdmin("admin:write"), validate("param", idParam), async (c) => {
      const row = await apiKeys.findForAdmin(c.get("principal")!.role, c.req.valid("param").id);
      await apiKeys.revoke(row.id, auditContext(c), "admin");
      return c.body(null, 204);
    });
}
