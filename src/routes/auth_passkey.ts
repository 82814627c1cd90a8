/**
 * Routes of passkey sign-in under `/api/v1/auth`: assertion options (for an email, for any
 * discoverable passkey, for the `mfa_token` of a password login's second step, or for a
 * step-up of the calling session) and the passwordless sign-in itself. The completed sign-in
 * answers like every login (auth.ts hands over its answer).
 */
import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { validate } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import { DEVICE_COOKIE } from "../services/device_tokens.ts";
import type { LoginResult } from "../services/login.ts";
import { auditContext } from "./audit_context.ts";
import { authenticationResponse, requestOrigin } from "./passkey_fields.ts";

const optionsBody = z.union([
  z.object({ mfa_token: z.string().min(1).max(128) }).strict(),
  z.object({ email: z.string().trim().min(1).max(320).optional() }).strict(),
], { error: "send nothing, an email, or the mfa_token of a password login" });

/** What auth.ts lends these routes. */
export interface PasskeyRouteOptions {
  /** The per-IP limits of register, login and refresh. */
  limiter: MiddlewareHandler<AppEnv>;
  /** A session access token, under the per-principal limit. */
  sessionCaller: readonly MiddlewareHandler<AppEnv>[];
  /** The body, cookies and device credential of a completed login. */
  loggedIn(c: Context<AppEnv>, result: LoginResult): Response | Promise<Response>;
}

/** `/api/v1/auth/passkey*` and `/api/v1/auth/reauthenticate/options`. */
export function authPasskeyRoutes(services: Services, options: PasskeyRouteOptions) {
  const { passkeys } = services;
  return new Hono<AppEnv>()
    .post("/passkey/options", options.limiter, validate("json", optionsBody), async (c) => {
      const body = c.req.valid("json");
      if ("mfa_token" in body) {
        const pending = await services.mfaLogin.pending(body.mfa_token);
        return c.json(
          await passkeys.authenticationOptions({
            purpose: "mfa",
            userId: pending.userId,
            boundTo: pending.tokenHash,
          }, requestOrigin(c)),
        );
      }
      return c.json(
        await passkeys.authenticationOptions(
          { purpose: "login", email: body.email },
          requestOrigin(c),
        ),
      );
    })
    .post(
      "/passkey",
      options.limiter,
      validate(
        "json",
        z.object({
          response: authenticationResponse,
          device_token: z.string().max(200).optional(),
        }).strict(),
      ),
      async (c) => {
        const body = c.req.valid("json");
        const result = await services.login.passkey(body.response, requestOrigin(c), {
          ip: c.get("clientIp"),
          userAgent: c.req.header("user-agent"),
          deviceToken: body.device_token ?? getCookie(c, DEVICE_COOKIE),
        }, auditContext(c));
        return await options.loggedIn(c, result);
      },
    )
    .post("/reauthenticate/options", options.limiter, ...options.sessionCaller, async (c) => {
      const principal = c.get("principal")!;
      return c.json(
        await passkeys.authenticationOptions({
          purpose: "reauthenticate",
          userId: principal.userId,
          boundTo: principal.sessionId!,
        }, requestOrigin(c)),
      );
    });
}
