import { Hono } from "hono";
import * as z from "zod";
import type { AppDeps, AppEnv } from "../app_types.ts";
import { errors } from "../errors.ts";
import { requireScope } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import { auditContext } from "./audit_context.ts";
import { API_KEY_SCOPES } from "../services/api_keys.ts";
import type { Services } from "../services/container.ts";
import { apiKeyView } from "./api_key_view.ts";

const idParam = z.object({ id: z.string().max(64) });

/** `/api/v1/api-keys`: the caller's own keys. */
export function apiKeyRoutes(deps: AppDeps, services: Services) {
  const { db, config } = deps;
  const maxDays = config.apiKeys.maxLifetimeDays;
  const createBody = z.object({
    name: z.string().trim().min(1, "is required").max(100),
    scopes: z.array(z.enum(API_KEY_SCOPES)).min(1, "must list at least one scope").max(20),
    expires_in_days: z.number({ error: "must be a number of days; keys always expire" }).int()
      .min(1).max(maxDays, `must be at most ${maxDays} (API_KEY_MAX_LIFETIME_DAYS)`)
      .default(Math.min(90, maxDays)),
    rate_limit_per_minute: z.number().int().min(1).max(1_000_000).optional(),
  });
  const rotateBody = z.object({
    overlap_hours: z.number().int().min(0).max(8760).default(config.apiKeys.rotationOverlapHours),
  });

  const ownKey = async (userId: string, id: string) => {
    const row = await db.selectFrom("api_keys").selectAll().where("id", "=", id)
      .where("user_id", "=", userId).where("revoked_at", "is", null).executeTakeFirst();
    if (!row) throw errors.notFound("No such API key");
    return row;
  };

  return new Hono<AppEnv>()
    .post("/", requireScope("api_keys:write"), validate("json", createBody), async (c) => {
      const principal = c.get("principal")!;
      const body = c.req.valid("json");
      const { row, key } = await services.apiKeys.create(
        { id: principal.userId, role: principal.role },
        {
          name: body.name,
          scopes: body.scopes,
          expiresInDays: body.expires_in_days,
          rateLimitPerMinute: body.rate_limit_per_minute,
        },
        auditContext(c),
      );
      return c.json({ api_key: apiKeyView(row), key }, 201);
    })
    .get("/", requireScope("api_keys:read"), async (c) => {
      const rows = await db.selectFrom("api_keys").selectAll()
        .where("user_id", "=", c.get("principal")!.userId).where("revoked_at", "is", null)
        .orderBy("created_at", "desc").execute();
      return c.json({ api_keys: rows.map(apiKeyView) });
    })
    .delete("/:id", requireScope("api_keys:write"), validate("param", idParam), async (c) => {
      const row = await ownKey(c.get("principal")!.userId, c.req.valid("param").id);
      await services.apiKeys.revoke(row.id, auditContext(c), "owner");
      return c.body(null, 204);
    })
    .post(
      "/:id/rotate",
      requireScope("api_keys:write"),
      validate("param", idParam),
      validate("json", rotateBody),
      async (c) => {
        const row = await ownKey(c.get("principal")!.userId, c.req.valid("param").id);
        const key = await services.apiKeys.rotate(
          row.id,
          c.req.valid("json").overlap_hours,
          auditContext(c),
        );
        const updated = await ownKey(row.user_id, row.id);
        return c.json({ api_key: apiKeyView(updated), key });
      },
    );
}
