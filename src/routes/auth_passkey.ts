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
import { documented } from "../lib/route_docs.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import { DEVICE_COOKIE } from "../services/device_tokens.ts";
import type { LoginResult } from "../services/login.ts";
import { auditContext } from "./audit_context.ts";
import { LIMITED, LOGIN_COOKIES } from "./auth_docs.ts";
import { authenticationResponse, requestOrigin } from "./passkey_fields.ts";
import { loginBodySchema } from "./response_schemas.ts";

const optionsBody = z.union([
  z.object({ mfa_token: z.string().min(1).max(128) }).strict(),
  z.object({ email: z.string().trim().min(1).max(320).optional() }).strict(),
], { error: "send nothing, an email, or the mfa_token of a password login" });

const passkeyBody = z.object({
  response: authenticationResponse,
  device_token: z.string().max(200).optional(),
}).strict();

/** WebAuthn assertion options (`PublicKeyCredentialRequestOptionsJSON`) for `navigator.credentials.get`. */
const requestOptionsSchema = z.object({
  challenge: z.string(),
  rpId: z.string(),
  timeout: z.number().int(),
  userVerification: z.literal("required"),
  allowCredentials: z.array(
    z.object({
      id: z.string(),
      type: z.literal("public-key"),
      transports: z.array(z.string()).optional(),
    }).strict(),
  ).optional(),
}).strict();

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
    .post(
      "/passkey/options",
      options.limiter,
      validate("json", optionsBody),
      documented({
        summary: "Assertion options for a passkey sign-in or a login's second step",
        description: "`{}` for any discoverable passkey, `{email}` for that account's passkeys " +
          "(a stand-in of the same shape when the address has none: no enumeration), " +
          "`{mfa_token}` for the second step of a password login.",
        tags: ["auth"],
        responses: { 200: { description: "The assertion options", schema: requestOptionsSchema } },
        errors: [...LIMITED, "invalid_mfa_token", "passkeys_unavailable"],
      }, async (c: Validated<{ json: typeof optionsBody }>) => {
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
      }),
    )
    .post(
      "/passkey",
      options.limiter,
      validate("json", passkeyBody),
      documented({
        summary: "Sign in with a passkey (no password)",
        description: "The assertion for the options of POST /api/v1/auth/passkey/options; user " +
          "verification is required, so it counts as two factors. Under the same login guard " +
          "as a password.",
        tags: ["auth"],
        responses: {
          200: {
            description: "Signed in",
            schema: loginBodySchema,
            headers: { "Set-Cookie": LOGIN_COOKIES },
          },
        },
        errors: [
          ...LIMITED,
          "invalid_passkey",
          "too_many_attempts",
          "email_not_verified",
          "passkeys_unavailable",
          "csrf_rejected",
        ],
      }, async (c: Validated<{ json: typeof passkeyBody }>) => {
        const body = c.req.valid("json");
        const result = await services.login.passkey(body.response, requestOrigin(c), {
          ip: c.get("clientIp"),
          userAgent: c.req.header("user-agent"),
          deviceToken: body.device_token ?? getCookie(c, DEVICE_COOKIE),
        }, auditContext(c));
        return await options.loggedIn(c, result);
      }),
    )
    .post(
      "/reauthenticate/options",
      options.limiter,
      ...options.sessionCaller,
      documented({
        summary: "Assertion options for a step-up with a passkey",
        description: "The challenge is bound to the calling session; the assertion goes to " +
          "POST /api/v1/auth/reauthenticate as `passkey_response`.",
        tags: ["auth"],
        responses: { 200: { description: "The assertion options", schema: requestOptionsSchema } },
        errors: [...LIMITED, "invalid_api_key", "passkeys_unavailable"],
      }, async (c: Context<AppEnv>) => {
        const principal = c.get("principal")!;
        return c.json(
          await passkeys.authenticationOptions({
            purpose: "reauthenticate",
            userId: principal.userId,
            boundTo: principal.sessionId!,
          }, requestOrigin(c)),
        );
      }),
    );
}
