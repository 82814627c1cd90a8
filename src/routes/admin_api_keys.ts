/**
 * Routes of `/api/v1/admin/api-keys`: every key for admins, one key's own rate limit, and
 * revocation.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { documented } from "../lib/route_docs.ts";
import { requireAdmin } from "../middleware/authenticate.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import { pageOf } from "./page.ts";
import { auditContext } from "./audit_context.ts";
import type { Services } from "../services/container.ts";
import { apiKeySchema, apiKeyView } from "./api_key_view.ts";

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

/** A key as an administrator sees it: its owner too. */
const adminKeySchema = apiKeySchema.extend({ user_id: z.uuid() }).strict();
const keyPageSchema = z.object({
  api_keys: z.array(adminKeySchema),
  next_cursor: z.string().nullable(),
}).strict();
type Id = typeof idParam;
/** A handler's context with its validated inputs, which `documented()` hides from inference. */
// What answers before the route: ADMIN_ALLOWED_IPS hides the admin routes from elsewhere as an
// unknown route (404 not_found).
const BEFORE_ROUTE = ["not_found"];
const tags = ["admin"];

/** `/api/v1/admin/api-keys`: every key, an admin's rate limit for one, and revocation. */
export function adminApiKeyRoutes(services: Services) {
  const { apiKeys } = services;
  const adminView = (row: Parameters<typeof apiKeyView>[0]) => ({
    ...apiKeyView(row),
    user_id: row.user_id,
  });

  return new Hono<AppEnv>()
    .get(
      "/",
      requireAdmin("admin:read"),
      validate("query", listQuery),
      documented({
        summary: "List every user's API keys, by id, cursor-paged",
        tags,
        responses: {
          200: {
            description: "One page of keys and the next page's cursor",
            schema: keyPageSchema,
          },
        },
        errors: BEFORE_ROUTE,
      }, async (c: Validated<{ query: typeof listQuery }>) => {
        const q = c.req.valid("query");
        const rows = await apiKeys.listAll({
          userId: q.user_id,
          includeRevoked: q.include_revoked === "true",
          afterId: q.cursor,
          limit: q.limit + 1,
        });
        const { page, nextCursor } = pageOf(rows, q.limit, (last) => last.id);
        return c.json({ api_keys: page.map(adminView), next_cursor: nextCursor });
      }),
    )
    .patch(
      "/:id",
      requireAdmin("admin:write"),
      validate("param", idParam),
      validate("json", patchBody),
      documented({
        summary: "Set an active API key's own rate limit (null: the default)",
        description: "An administrator's limit may exceed API_KEY_RATE_LIMIT_PER_MINUTE. A key " +
          "is protected like its owner: only a super admin changes a super admin's keys.",
        tags,
        responses: {
          200: {
            description: "The updated key",
            schema: z.object({ api_key: adminKeySchema }).strict(),
          },
        },
        errors: [...BEFORE_ROUTE, "forbidden"],
      }, async (c: Validated<{ param: Id; json: typeof patchBody }>) => {
        const row = await apiKeys.findForAdmin(c.get("principal")!.role, c.req.valid("param").id);
        const updated = await apiKeys.setRateLimit(
          row.id,
          c.req.valid("json").rate_limit_per_minute,
          auditContext(c),
        );
        return c.json({ api_key: adminView(updated) });
      }),
    )
    .delete(
      "/:id",
      requireAdmin("admin:write"),
      validate("param", idParam),
      documented({
        summary: "Revoke an active API key at once",
        description: "Only a super admin revokes a super admin's keys.",
        tags,
        responses: { 204: { description: "The key is revoked" } },
        errors: [...BEFORE_ROUTE, "forbidden"],
      }, async (c: Validated<{ param: Id }>) => {
        const row = await apiKeys.findForAdmin(c.get("principal")!.role, c.req.valid("param").id);
        await apiKeys.revoke(row.id, auditContext(c), "admin");
        return c.body(null, 204);
      }),
    );
}
