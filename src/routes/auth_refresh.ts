/**
 * `POST /api/v1/auth/refresh`: rotates a refresh token (from the body or, with
 * REFRESH_TOKEN_COOKIE on, its cookie) for a new pair. A token presented twice is reuse: its
 * session is revoked, audited and alerted on, and the cookie cleared.
 */
import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { deleteCookie, getCookie } from "hono/cookie";
import * as z from "zod";
import type { AppDeps, AppEnv } from "../app_types.ts";
import { errors, problem } from "../errors.ts";
import { documented } from "../lib/route_docs.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import type { TokenPair } from "../services/sessions.ts";
import { userView } from "../services/user_view.ts";
import { auditContext } from "./audit_context.ts";
import { LIMITED, REFRESH_COOKIE } from "./auth_docs.ts";
import { tokenPairSchema, userSchema } from "./response_schemas.ts";

const refreshBody = z.object({ refresh_token: z.string().min(16).max(512).optional() });

/** The answer of a refresh: the new pair and the user. */
const refreshedSchema = tokenPairSchema.extend({ user: userSchema }).strict();

/** What the refresh route needs from auth.ts. */
export interface RefreshRouteOptions {
  /** The per-IP auth limiter. */
  limiter: MiddlewareHandler<AppEnv>;
  /** Sets the refresh cookie when it is on; answers the pair for the body. */
  respondWithTokens(c: Context<AppEnv>, tokens: TokenPair): TokenPair;
  /** Checks that a cookie-authenticated request comes from an allowed origin. */
  checkCsrf?: (c: Context<AppEnv>) => void;
}

/** `/refresh`, mounted under `/api/v1/auth` by auth.ts. */
export function authRefreshRoutes(deps: AppDeps, services: Services, options: RefreshRouteOptions) {
  const { config } = deps;
  return new Hono<AppEnv>().post(
    "/refresh",
    options.limiter,
    validate("json", refreshBody),
    documented({
      summary: "Rotate a refresh token for a new token pair",
      description: "The refresh token in the body or, with REFRESH_TOKEN_COOKIE on, its " +
        "cookie (then only from an allowed origin). A token used twice revokes its session.",
      tags: ["auth"],
      security: [{}, { refreshCookie: [] }],
      responses: {
        200: {
          description: "The new token pair and the user",
          schema: refreshedSchema,
          headers: { "Set-Cookie": "With REFRESH_TOKEN_COOKIE on, the new refresh token" },
        },
      },
      errors: [
        ...LIMITED,
        "invalid_refresh_token",
        "refresh_token_expired",
        "refresh_token_reused",
        "csrf_rejected",
      ],
    }, async (c: Validated<{ json: typeof refreshBody }>) => {
      let presented = c.req.valid("json").refresh_token;
      if (!presented && config.refresh.cookie) {
        presented = getCookie(c, REFRESH_COOKIE);
        if (presented) options.checkCsrf?.(c);
      }
      if (!presented) {
        throw errors.validation([{ field: "refresh_token", message: "is required" }]);
      }
      const result = await services.sessions.rotate(presented, async (trx, reuse) => {
        await services.audit(trx, {
          ...auditContext(c),
          action: "auth.refresh.reused",
          outcome: "denied",
          targetType: "user",
          targetId: reuse.userId,
          details: { session_id: reuse.sessionId, sessions_revoked: 1 },
        });
      });
      if ("expired" in result) {
        throw problem("refresh_token_expired", {
          detail: "The session has expired; log in again",
        });
      }
      if ("reused" in result) {
        deps.alerts.alert("refresh_token_reused", {
          user_id: result.userId,
          session_id: result.sessionId,
          ip: c.get("clientIp"),
        });
        if (config.refresh.cookie) deleteCookie(c, REFRESH_COOKIE, { path: "/", secure: true });
        throw problem("refresh_token_reused", {
          detail: "This refresh token was already used; the session has been revoked",
        });
      }
      return c.json({
        ...options.respondWithTokens(c, result.tokens),
        user: userView(result.user),
      });
    }),
  );
}
