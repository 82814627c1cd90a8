/**
 * Routes of `/api/v1/auth`: register, login (and its MFA step), reauthenticate, logout and
 * logout-all, with the refresh and device cookies; it mounts refresh (auth_refresh.ts), passkey
 * sign-in (auth_passkey.ts) and provider sign-in (auth_oauth.ts).
 */
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import * as z from "zod";
import type { AppDeps, AppEnv } from "../app_types.ts";
import type { MiddlewareHandler } from "hono";
import { documented, type OperationDoc } from "../lib/route_docs.ts";
import { authorize } from "../middleware/authenticate.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import { auditContext } from "./audit_context.ts";
import { passwordField } from "./password_field.ts";
import {
  loginBodySchema,
  messageSchema,
  tokenPairSchema,
  userBodySchema,
} from "./response_schemas.ts";
import { authPasskeyRoutes } from "./auth_passkey.ts";
import { authOAuthRoutes } from "./auth_oauth.ts";
import { LIMITED, LOGIN_COOKIES, LOGIN_OR_MFA, REFRESH_COOKIE } from "./auth_docs.ts";
import { authRefreshRoutes } from "./auth_refresh.ts";
import { authenticationResponse, requestOrigin } from "./passkey_fields.ts";
import type { Services } from "../services/container.ts";
import { DEVICE_COOKIE, DEVICE_TOKEN_TTL_DAYS } from "../services/device_tokens.ts";
import type { LoginResult } from "../services/login.ts";
import type { TokenPair } from "../services/sessions.ts";
import { userView } from "../services/user_view.ts";

export { DEVICE_COOKIE, REFRESH_COOKIE };

/** The 202 of a registration under EMAIL_VERIFICATION=required, for new and known addresses. */
const REGISTRATION_ACCEPTED = {
  message: "Check your inbox: follow the link in the message we sent to finish registering",
};

/** Sets the device credential (login, unlock) as an HttpOnly `__Host-` cookie. */
export function setDeviceCookie(c: Context<AppEnv>, deviceToken: string): void {
  setCookie(c, DEVICE_COOKIE, deviceToken, {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
    maxAge: DEVICE_TOKEN_TTL_DAYS * 86_400,
  });
}

/** What a step of a login can be refused with besides the limiter's problems. */
const FACTOR_PROBLEMS = [
  "invalid_mfa_code",
  "invalid_passkey",
  "too_many_attempts",
  "passkeys_unavailable",
] as const;

const email = z.string().trim().max(320);
const registerBody = z.object({
  email: email.pipe(z.email("must be a valid email address")),
  password: passwordField,
  name: z.string().trim().min(1).max(200).optional(),
});
const loginBody = z.object({
  email: email.min(1, "is required"),
  password: passwordField,
  device_token: z.string().max(200).optional(),
});
const mfaCode = z.string().trim().max(16);
const recoveryCode = z.string().trim().max(64);
const mfaToken = z.string().min(1).max(128);
const mfaBody = z.union([
  z.object({ mfa_token: mfaToken, code: mfaCode }).strict(),
  z.object({ mfa_token: mfaToken, recovery_code: recoveryCode }).strict(),
  z.object({ mfa_token: mfaToken, passkey_response: authenticationResponse }).strict(),
], { error: "send mfa_token with either code, recovery_code or passkey_response" });
const reauthenticateBody = z.union([
  z.object({
    password: passwordField,
    code: mfaCode.optional(),
    recovery_code: recoveryCode.optional(),
  }).strict(),
  z.object({ passkey_response: authenticationResponse }).strict(),
], { error: "send password (and code or recovery_code), or passkey_response" });

/** The answer of a step-up: a new access token for the same session. */
const accessTokenSchema = tokenPairSchema.omit({ refresh_token: true }).strict();

/** The description of logout and logout-all. */
function logoutDoc(summary: string): OperationDoc {
  return {
    summary,
    tags: ["auth"],
    responses: {
      204: {
        description: "Signed out",
        headers: { "Set-Cookie": "With REFRESH_TOKEN_COOKIE on, clears the refresh cookie" },
      },
    },
    // The per-principal limit fails closed (503) without its store; an API key is refused.
    errors: ["csrf_rejected", "guard_unavailable", "invalid_api_key"],
  };
}

/** Extra pieces the auth routes call into; wired by createApp. */
export interface AuthRouteOptions {
  /** Applied to register, login and refresh (per-IP limits). */
  limiter?: MiddlewareHandler<AppEnv>;
  /** Requires an access token; for logout. */
  authenticated: MiddlewareHandler<AppEnv>;
  /** The per-principal limit that every authenticated route is under. */
  principalLimiter?: MiddlewareHandler<AppEnv>;
  /** Checks that a cookie-authenticated request comes from an allowed origin. */
  checkCsrf?: (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => void;
}

/** `/api/v1/auth/*`: register, login, refresh, logout, logout-all. */
export function authRoutes(deps: AppDeps, services: Services, options: AuthRouteOptions) {
  const { config } = deps;
  const passThrough: MiddlewareHandler<AppEnv> = (_c, next) => next();
  const limiter = options.limiter ?? passThrough;
  // Logout ends sessions, so only a session token may call it; an API key is refused.
  const sessionCaller = [
    options.authenticated,
    options.principalLimiter ?? passThrough,
    authorize({ scope: "me:write", sessionOnly: true }),
  ] as const;

  const respondWithTokens = (c: Context<AppEnv>, tokens: TokenPair) => {
    if (!config.refresh.cookie) return tokens;
    setCookie(c, REFRESH_COOKIE, tokens.refresh_token, {
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: "/",
      maxAge: config.refresh.ttlSeconds,
    });
    return tokens;
  };

  /** The body of every completed login: tokens, user, device credential (also a cookie). */
  const loggedIn = (c: Context<AppEnv>, result: LoginResult) => {
    services.users.forget(result.user.id); // last_login_at changed
    const tokens = respondWithTokens(c, result.tokens);
    setDeviceCookie(c, result.deviceToken);
    return c.json({ ...tokens, user: userView(result.user), device_token: result.deviceToken });
  };

  const logout = async (c: Context<AppEnv>, all: boolean) => {
    await services.sessionEnds.logout(c.get("principal")!, all, auditContext(c));
    if (config.refresh.cookie) deleteCookie(c, REFRESH_COOKIE, { path: "/", secure: true });
    return c.body(null, 204);
  };

  return new Hono<AppEnv>()
    .post(
      "/register",
      limiter,
      validate("json", registerBody),
      documented({
        summary: "Create an account with an email and a password",
        description: "With EMAIL_VERIFICATION=required the answer is 202 whether or not the " +
          "address already has an account (no enumeration); the link in the message finishes.",
        tags: ["auth"],
        responses: {
          201: { description: "The account was created", schema: userBodySchema },
          202: {
            description: "EMAIL_VERIFICATION=required: a message went to the address",
            schema: messageSchema,
          },
        },
        errors: [...LIMITED, "registration_disabled", "email_taken", "csrf_rejected"],
      }, async (c: Validated<{ json: typeof registerBody }>) => {
        const registered = await services.accounts.register(c.req.valid("json"), auditContext(c));
        // EMAIL_VERIFICATION=required: the same answer whether or not the address had an account.
        if ("accepted" in registered) return c.json(REGISTRATION_ACCEPTED, 202);
        return c.json({ user: userView(registered.user) }, 201);
      }),
    )
    .post(
      "/login",
      limiter,
      validate("json", loginBody),
      documented({
        summary: "Sign in with an email and a password",
        description: "Answers the session, or (with a second factor on the account) the " +
          "`mfa_token` challenge of POST /api/v1/auth/mfa and no token. A blocked email or " +
          "client gets 429 too_many_attempts even with the right password; the device " +
          "credential (body or cookie) lets its owner past a spent per-account budget.",
        tags: ["auth"],
        responses: LOGIN_OR_MFA,
        errors: [
          ...LIMITED,
          "invalid_credentials",
          "email_not_verified",
          "too_many_attempts",
          "csrf_rejected",
        ],
      }, async (c: Validated<{ json: typeof loginBody }>) => {
        const body = c.req.valid("json");
        const result = await services.login.password(body.email, body.password, {
          ip: c.get("clientIp"),
          userAgent: c.req.header("user-agent"),
          deviceToken: body.device_token ?? getCookie(c, DEVICE_COOKIE),
        }, auditContext(c));
        // MFA on: the challenge of the second step, and no token.
        if ("mfa_required" in result) return c.json(result);
        return loggedIn(c, result);
      }),
    )
    .post(
      "/mfa",
      limiter,
      validate("json", mfaBody),
      documented({
        summary: "Complete a login with its second factor",
        description: "The `mfa_token` of the password step (five minutes, five attempts) with " +
          "a TOTP code, a one-time recovery code or a passkey assertion; ten failures of an " +
          "account in fifteen minutes block it (429).",
        tags: ["auth"],
        responses: {
          200: {
            description: "Signed in",
            schema: loginBodySchema,
            headers: { "Set-Cookie": LOGIN_COOKIES },
          },
        },
        errors: [...LIMITED, ...FACTOR_PROBLEMS, "invalid_mfa_token", "csrf_rejected"],
      }, async (c: Validated<{ json: typeof mfaBody }>) => {
        const { mfa_token: token, ...given } = c.req.valid("json");
        const factor = "passkey_response" in given
          ? { passkey_response: given.passkey_response, origin: requestOrigin(c) }
          : given;
        const result = await services.mfaLogin.complete(token, factor, {
          ip: c.get("clientIp"),
          userAgent: c.req.header("user-agent"),
        }, auditContext(c));
        return loggedIn(c, result);
      }),
    )
    .post(
      "/reauthenticate",
      limiter,
      ...sessionCaller,
      validate("json", reauthenticateBody),
      documented({
        summary: "Step up: prove again who you are, for a fresh access token",
        description: "The password (and a TOTP or recovery code when MFA is on), or a passkey " +
          "assertion for the options of POST /api/v1/auth/reauthenticate/options. The session " +
          "gets a new `auth_time`, which routes that need a recent sign-in read.",
        tags: ["auth"],
        responses: { 200: { description: "A fresh access token", schema: accessTokenSchema } },
        errors: [...LIMITED, ...FACTOR_PROBLEMS, "invalid_credentials", "invalid_api_key"],
      }, async (c: Validated<{ json: typeof reauthenticateBody }>) => {
        const principal = c.get("principal")!;
        const body = c.req.valid("json");
        const input = "passkey_response" in body
          ? { passkey: { passkey_response: body.passkey_response, origin: requestOrigin(c) } }
          : {
            password: body.password,
            factor: body.code !== undefined
              ? { code: body.code }
              : body.recovery_code !== undefined
              ? { recovery_code: body.recovery_code }
              : undefined,
          };
        const answer = await services.login.reauthenticate(
          principal.userId,
          principal.sessionId!,
          input,
          { ip: c.get("clientIp"), userAgent: c.req.header("user-agent") },
          auditContext(c),
        );
        return c.json(answer);
      }),
    )
    .route(
      "/",
      authRefreshRoutes(deps, services, {
        limiter,
        respondWithTokens,
        checkCsrf: options.checkCsrf,
      }),
    )
    .route("/", authPasskeyRoutes(services, { limiter, sessionCaller, loggedIn }))
    .route(
      "/oauth",
      authOAuthRoutes(services, {
        limiter,
        loggedIn,
        publicUrl: config.email.publicUrl,
        console: config.consoleEnabled,
      }),
    )
    .post(
      "/logout",
      ...sessionCaller,
      documented(logoutDoc("End this session"), (c) => logout(c, false)),
    )
    .post(
      "/logout-all",
      ...sessionCaller,
      documented(logoutDoc("End every session of the account"), (c) => logout(c, true)),
    );
}
