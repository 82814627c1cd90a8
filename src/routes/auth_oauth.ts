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
import { documented } from "../lib/route_docs.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import {
  CONSOLE_OAUTH_RETURN_PATH,
  OAUTH_FLOW_COOKIE,
  OAUTH_FLOW_TTL_MS,
} from "../services/oauth_flows.ts";
import type { LoginResult } from "../services/login.ts";
import { LIMITED, LOGIN_OR_MFA } from "./auth_docs.ts";
import { auditContext } from "./audit_context.ts";
import { requestOrigin } from "./passkey_fields.ts";

const providerParam = z.object({ provider: z.string().max(32) });
/**
 * The provider's answer (RFC 6749 4.1.2, OpenID Connect): described and bounded here; the
 * flow reads it from the whole URL, which oauth4webapi checks (others, like `iss`, pass).
 */
const callbackQuery = z.looseObject({
  code: z.string().max(2048).optional().describe("The provider's authorization code"),
  state: z.string().max(512).optional().describe("The state the start sent"),
  error: z.string().max(256).optional().describe("The provider's refusal, instead of a code"),
  error_description: z.string().max(2048).optional(),
});
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

const providersSchema = z.object({
  providers: z.array(z.object({ name: z.string(), display_name: z.string() }).strict()),
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
    .get(
      "/providers",
      documented({
        summary: "The enabled sign-in providers, for their buttons",
        tags: ["auth"],
        responses: { 200: { description: "The providers", schema: providersSchema } },
      }, (c: Context<AppEnv>) => c.json({ providers: oauthFlows.list() })),
    )
    .get(
      "/:provider/start",
      options.limiter,
      validate("param", providerParam),
      validate("query", startQuery),
      documented({
        summary: "Start a sign-in with a provider: a redirect to it",
        description: "`redirect_to` must be exactly an entry of OAUTH_REDIRECT_URLS (or the " +
          "console's return page). The flow cookie binds the flow to this browser; the " +
          "callback sends the browser back to `redirect_to` with a one-time `code` (or an " +
          "`error`) in the fragment. With `code_challenge` (S256) the exchange needs the " +
          "verifier; `prompt=login` asks the provider for a new sign-in.",
        tags: ["auth"],
        responses: {
          302: {
            description: "To the provider's authorization endpoint",
            headers: {
              Location: "The provider's authorization URL",
              "Set-Cookie": "The flow cookie that binds the sign-in to this browser",
            },
          },
        },
        errors: [...LIMITED, "not_found", "invalid_redirect", "provider_unavailable"],
      }, async (c: Validated<{ param: typeof providerParam; query: typeof startQuery }>) => {
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
      }),
    )
    .get(
      "/:provider/callback",
      options.limiter,
      validate("param", providerParam),
      validate("query", callbackQuery),
      documented({
        summary: "Where the provider sends the browser back",
        description: "Redirects to the flow's `redirect_to` with `code` (for POST " +
          "/api/v1/auth/oauth/exchange), or `error` (and `link_code` for link_required) in " +
          "the fragment. A missing, unknown, used, expired or other browser's `state` is 400 " +
          "invalid_state: there is no trusted place to send the browser.",
        tags: ["auth"],
        responses: {
          302: {
            description: "Back to the flow's redirect_to",
            headers: { Location: "`redirect_to` with the outcome in the fragment" },
          },
        },
        errors: [...LIMITED, "not_found", "invalid_state"],
      }, async (c: Validated<{ param: typeof providerParam }>) => {
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
      }),
    )
    .post(
      "/exchange",
      options.limiter,
      validate("json", exchangeBody),
      documented({
        summary: "Exchange a provider sign-in's one-time code for the login answer",
        description: "The code of the callback's fragment (once, briefly): the session, or the " +
          "second step's challenge when the account has a second factor. Sent with the flow " +
          "cookie, the code must come from the browser its flow ran in; a code whose start " +
          "carried `code_challenge` needs its `code_verifier`. A new address creates an account.",
        tags: ["auth"],
        responses: LOGIN_OR_MFA,
        errors: [
          ...LIMITED,
          "invalid_oauth_code",
          "registration_disabled",
          "email_taken",
          "invalid_credentials",
          "email_not_verified",
          "csrf_rejected",
        ],
      }, async (c: Validated<{ json: typeof exchangeBody }>) => {
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
      }),
    );
}
