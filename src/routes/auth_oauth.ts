/**
 * Routes of social sign-in under `/api/v1/auth/oauth`: the enabled providers, the start (302 to
 * the provider, with the flow cookie that binds it to this browser), the provider's callback
 * (302 back to `redirect_to` with a one-time code or an error in the fragment) and the exchange
 * of that code for the normal login answer.
 */
import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { validate } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import {
  CONSOLE_OAUTH_RETURN_PATH,
  OAUTH_FLOW_COOKIE,
  OAUTH_FLOW_TTL_MS,
} from "../services/oauth_flows.ts";
import type { LoginResult } from "../services/login.ts";
import { auditContext } from "./audit_context.ts";
import { requestOrigin } from "./passkey_fields.ts";

const providerParam = z.object({ provider: z.string().max(32) });
// Any redirect_to that is not an entry (missing, empty, too long) is the service's 400
// invalid_redirect, one answer for every wrong target.
const startQuery = z.object({
  redirect_to: z.string().optional(),
  // The app's own PKCE (RFC 7636, S256 only): the exchange then needs the verifier.
  code_challenge: z.string().regex(
    /^[\w-]{43}$/,
    "must be the S256 challenge (43 base64url characters)",
  )
    .optional(),
  code_challenge_method: z.literal("S256", "must be S256").optional(),
  // A step-up: the provider signs the user in again (max_age=0), checked against auth_time.
  prompt: z.literal("login", "must be login").optional(),
}).refine((q) => q.code_challenge_method === undefined || q.code_challenge !== undefined, {
  message: "is required with code_challenge_method",
  path: ["code_challenge"],
});
const exchangeBody = z.object({
  code: z.string().min(1, "is required").max(128),
  code_verifier: z.string().regex(/^[\w.~-]{43,128}$/, "must be a PKCE verifier (RFC 7636)")
    .optional(),
}).strict();

/** What auth.ts lends these routes. */
export interface OAuthRouteOptions {
  /** The per-IP limits of register, login and refresh. */
  limiter: MiddlewareHandler<AppEnv>;
  /** The body, cookies and device credential of a completed login. */
  loggedIn(c: Context<AppEnv>, result: LoginResult): Response | Promise<Response>;
  /** PUBLIC_URL; without it (outside production) the request's own origin. */
  publicUrl?: string;
  /** CONSOLE_ENABLED: the console's return page is a `redirect_to` too. */
  console: boolean;
}

/** `/api/v1/auth/oauth/*`. */
export function authOAuthRoutes(services: Services, options: OAuthRouteOptions) {
  const { oauthFlows, oauthIdentities } = services;
  const base = (c: Context<AppEnv>) => options.publicUrl?.replace(/\/$/, "") ?? requestOrigin(c);
  const callbackUrl = (c: Context<AppEnv>, provider: string) =>
    `${base(c)}/api/v1/auth/oauth/${provider}/callback`;

  return new Hono<AppEnv>()
    .get("/providers", (c) => c.json({ providers: oauthFlows.list() }))
    .get(
      "/:provider/start",
      options.limiter,
      validate("param", providerParam),
      validate("query", startQuery),
      async (c) => {
        const { provider } = c.req.valid("param");
        const query = c.req.valid("query");
        const started = await oauthFlows.start(provider, {
          redirectTo: query.redirect_to ?? "",
          appChallenge: query.code_challenge,
          reauthenticate: query.prompt === "login",
          browserSecret: getCookie(c, OAUTH_FLOW_COOKIE),
          callbackUrl: callbackUrl(c, provider),
          consoleReturnUrl: options.console ? base(c) + CONSOLE_OAUTH_RETURN_PATH : undefined,
        });
        setCookie(c, OAUTH_FLOW_COOKIE, started.browserSecret, {
          httpOnly: true,
          secure: true,
          sameSite: "Lax",
          path: "/",
          maxAge: OAUTH_FLOW_TTL_MS / 1000,
        });
        c.header("cache-control", "no-store");
        return c.redirect(started.location, 302);
      },
    )
    .get("/:provider/callback", options.limiter, validate("param", providerParam), async (c) => {
      const { provider } = c.req.valid("param");
      const location = await oauthFlows.callback(provider, {
        url: new URL(c.req.url),
        browserSecret: getCookie(c, OAUTH_FLOW_COOKIE),
        callbackUrl: callbackUrl(c, provider),
      }, auditContext(c));
      c.header("cache-control", "no-store");
      // The fragment stays in the browser: no Referer or server log carries the code.
      c.header("referrer-policy", "no-referrer");
      return c.redirect(location, 302);
    })
    .post(
      "/exchange",
      options.limiter,
      validate("json", exchangeBody),
      async (c) => {
        const body = c.req.valid("json");
        const result = await oauthIdentities.exchange(
          body.code,
          {
            ip: c.get("clientIp"),
            userAgent: c.req.header("user-agent"),
          },
          auditContext(c),
          { browserSecret: getCookie(c, OAUTH_FLOW_COOKIE), codeVerifier: body.code_verifier },
        );
        if ("mfa_required" in result) return c.json(result);
        return await options.loggedIn(c, result);
      },
    );
}
