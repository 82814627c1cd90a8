/**
 * Routes of `/api/v1/api-keys`: the caller creates, lists, revokes and rotates their own keys.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppDeps, AppEnv } from "../app_types.ts";
import { assertFreshAuthentication, requireScope } from "../middleware/authenticate.ts";
import { validate } from "../middleware/validate.ts";
import { auditContext } from "./audit_context.ts";
import { API_KEY_SCOPES } from "../services/api_keys.ts";
import type { Services } from "../services/container.ts";
import { apiKeyView } from "./api_key_view.ts";

const idParam = z.object({ id: z.string().max(64) });

/** `/api/v1/api-keys`: the caller's own keys. */
export function apiKeyRoutes(deps: AppDeps, services: Services) {
  const { config } = deps;
  const { apiKeys } = services;
  const maxDays = config.apiKeys.maxLifetimeDays;
  const createBody = z.object({
    name: z.string().trim().min(1, "is required").max(100),
    scopes: z.array(z.enum(API_KEY_SCOPES)).min(1, "must list at least one scope").max(20),
    expires_in_days: z.number({ error: "must be a number of days; keys always expire" }).int()
      .min(1).max(maxDays, `must be at most ${maxDays} (API_KEY_MAX_LIFETIME_DAYS)`)
      .optional(),
    // The cap (API_KEY_RATE_LIMIT_PER_MINUTE) is checked with the grant, which names it.
    rate_limit_per_minute: z.number().int().min(1).max(1e9).optional(),
  });
  const rotateBody = z.object({
    overlap_hours: z.number().int().min(0).max(8760).default(config.apiKeys.rotationOverlapHours),
  });

  return new Hono<AppEnv>()
    .post("/", requireScope("api_keys:write"), validate("json", createBody), async (c) => {
      const principal = c.get("principal")!;
      const body = c.req.valid("json");
      // A key with admin powers is a sensitive operation: it needs a recent sign-in.
      if (body.scopes.some((s) => s.startsWith("admin:"))) assertFreshAuthentication(principal);
      const { row, key } = await apiKeys.create(
        { id: principal.userId, role: principal.role },
        {
          name: body.name,
          scopes: body.scopes,
          expiresInDays: body.expires_in_days,
          rateLimitPerMinute: body.rate_limit_per_minute,
        },
        principal,
        auditContext(c),
      );
      return c.json({ api_key: apiKeyView(row), key }, 201);
    })
    .get("/", requireScope("api_keys:read"), async (c) => {
      const rows = await apiKeys.listOwn(c.get("principal")!.userId);
      return c.json({ api_keys: rows.map(apiKeyView) });
    })
    .delete("/:id", requireScope("api_keys:write"), validate("param", idParam), async (c) => {
      const row = await apiKeys.findOwn(c.get("principal")!.userId, c.req.valid("param").id);
      await apiKeys.revoke(row.id, auditContext(c), "owner");
      return c.body(null, 204);
    })
    .post(
      "/:id/rotate",
      requireScope("api_keys:write"),
      validate("param", idParam),
      validate("json", rotateBody),
      async (c) => {
        const principal = c.get("principal")!;
        const row = await apiKeys.findOwn(principal.userId, c.req.valid("param").id);
        // A new secret for a key with admin powers is as sensitive as creating one.
        if ((JSON.parse(row.scopes) as string[]).some((s) => s.startsWith("admin:"))) {
          assertFreshAuthentication(principal);
        }
        const key = await apiKeys.rotate(
          row,
          c.req.valid("json").overlap_hours,
          principal,
          auditContext(c),
        );
        const updated = await apiKeys.findOwn(row.user_id, row.id);
        return c.json({ api_key: apiKeyView(updated), key });
      },
    );
}
