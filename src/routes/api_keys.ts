/**
 * Routes of `/api/v1/api-keys`: the caller creates, lists, revokes and rotates their own keys.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppDeps, AppEnv } from "../app_types.ts";
import { assertFreshAuthentication, requireScope } from "../middleware/authenticate.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import { documented } from "../lib/route_docs.ts";
import { auditContext } from "./audit_context.ts";
import { API_KEY_SCOPES } from "../services/api_keys.ts";
import type { Services } from "../services/container.ts";
import { apiKeySchema, apiKeyView } from "./api_key_view.ts";

const idParam = z.object({ id: z.string().max(64) });

/**
 * The context of a handler with the inputs `validate` checked, named by hand: wrapped in
 * documented(), the handler no longer gets them from Hono's inference.
 */
type IdParam = { param: typeof idParam };

/** A key with its secret: the one answer that ever shows it. */
const keyWithSecretSchema = z.object({
  api_key: apiKeySchema,
  key: z.string().startsWith("ctd_").describe("The secret, shown only in this answer"),
}).strict();
const keyListSchema = z.object({ api_keys: z.array(apiKeySchema) }).strict();
const tags = ["api-keys"];
// Granting or renewing admin powers is a sensitive operation: a session needs a recent sign-in.
const ADMIN_STEP_UP = "A key with an `admin:` scope needs a recent sign-in (step-up) when a " +
  "session asks: 403 `reauthentication_required` otherwise.";

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
  type CreateBody = { json: typeof createBody };
  type RotateBody = { json: typeof rotateBody };

  return new Hono<AppEnv>()
    .post(
      "/",
      requireScope("api_keys:write"),
      validate("json", createBody),
      documented({
        summary: "Create an API key for the caller (its secret is shown only here)",
        description:
          "Keys always expire (90 days by default, at most API_KEY_MAX_LIFETIME_DAYS). " +
          "An API key may create only keys with no scope, lifetime or rate limit beyond its " +
          `own. ${ADMIN_STEP_UP}`,
        tags,
        responses: {
          201: { description: "The new key, with its secret", schema: keyWithSecretSchema },
        },
        errors: [
          "insufficient_scope",
          "reauthentication_required",
          "api_key_limit_reached",
        ],
      }, async (c: Validated<CreateBody>) => {
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
      }),
    )
    .get(
      "/",
      requireScope("api_keys:read"),
      documented({
        summary: "List the caller's API keys, newest first",
        description: "Active keys, and those revoked in the last 30 days (with `revoked_at`).",
        tags,
        responses: { 200: { description: "The caller's keys", schema: keyListSchema } },
      }, async (c) => {
        const rows = await apiKeys.listOwn(c.get("principal")!.userId);
        return c.json({ api_keys: rows.map(apiKeyView) });
      }),
    )
    .delete(
      "/:id",
      requireScope("api_keys:write"),
      validate("param", idParam),
      documented({
        summary: "Revoke one of the caller's API keys",
        tags,
        responses: { 204: { description: "The key is revoked" } },
        errors: ["not_found"],
      }, async (c: Validated<IdParam>) => {
        const row = await apiKeys.findOwn(c.get("principal")!.userId, c.req.valid("param").id);
        await apiKeys.revoke(row.id, auditContext(c), "owner");
        return c.body(null, 204);
      }),
    )
    .post(
      "/:id/rotate",
      requireScope("api_keys:write"),
      validate("param", idParam),
      validate("json", rotateBody),
      documented({
        summary: "Give one of the caller's API keys a new secret (shown only here)",
        description: "The current secret keeps working for `overlap_hours` (0 ends it now). " +
          "An API key may rotate only keys with no scope, lifetime or rate limit beyond its " +
          `own. ${ADMIN_STEP_UP}`,
        tags,
        responses: {
          200: { description: "The key, with its new secret", schema: keyWithSecretSchema },
        },
        errors: ["not_found", "insufficient_scope", "reauthentication_required"],
      }, async (c: Validated<IdParam & RotateBody>) => {
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
      }),
    );
}
