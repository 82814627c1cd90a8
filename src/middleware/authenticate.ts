/**
 * Authentication and the one authorization guard: `authenticate` turns a Bearer token or API
 * key into the request's principal, `authorize` (`requireScope`, `requireAdmin`) checks it
 * against each route's rule.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv, Principal } from "../app_types.ts";
import { errors, problem } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { JwtService } from "../services/jwt.ts";
import type { RevocationList } from "../services/revocation_list.ts";
import { isAdminRole } from "../services/roles.ts";
import { withDoc } from "../lib/route_docs.ts";

/** Resolves an API key to a principal; provided by the API-key service. */
export type ApiKeyResolver = (key: string, c: Parameters<MiddlewareHandler<AppEnv>>[0]) => Promise<
  Principal
>;

/** Options of {@linkcode authenticate}. */
export interface AuthenticateOptions {
  jwt: JwtService;
  revocations: RevocationList;
  clock: Clock;
  apiKeys?: ApiKeyResolver;
  /** STEP_UP_MAX_AGE: how long after a proof of identity sensitive operations are allowed. */
  stepUpMaxAgeSeconds?: number;
  /** REQUIRE_MFA_FOR_ADMINS. */
  requireMfaForAdmins?: boolean;
}

/** The `amr` values that name a second factor. */
const SECOND_FACTORS: ReadonlySet<string> = new Set(["otp", "rc", "hwk"]);

const invalidToken = () =>
  problem("invalid_token", {
    detail: "The access token is invalid, expired or revoked",
    headers: { "www-authenticate": 'Bearer realm="citadel", error="invalid_token"' },
  });

/**
 * Requires a Bearer access token (or an API key: `Bearer ctd_...` or `X-API-Key`) and
 * sets `principal`. Revocation is checked against an in-memory set, not the database.
 */
export function authenticate(options: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  const { jwt, revocations, clock, apiKeys } = options;
  const stepUpMs = (options.stepUpMaxAgeSeconds ?? 600) * 1000;
  const requireMfa = options.requireMfaForAdmins ?? false;
  return async function authenticateHandler(c, next) {
    const header = c.req.header("authorization");
    const apiKeyHeader = c.req.header("x-api-key");
    let credential: string | undefined;
    if (header !== undefined) {
      const match = /^Bearer ([^\s]+)$/i.exec(header);
      if (!match) throw invalidToken();
      credential = match[1];
    } else if (apiKeyHeader !== undefined) {
      credential = apiKeyHeader.trim();
    }
    if (!credential) throw errors.unauthorized();

    if (credential.startsWith("ctd_") && apiKeys) {
      const principal = await apiKeys(credential, c);
      // Keys are cached and shared between requests: copied only in the rare case of an
      // admin's key whose owner lacks the second factor REQUIRE_MFA_FOR_ADMINS asks for.
      c.set(
        "principal",
        requireMfa && isAdminRole(principal.role) && !principal.secondFactor
          ? { ...principal, adminMfaMissing: true }
          : principal,
      );
      return next();
    }
    if (header === undefined) throw invalidToken();
    const claims = await jwt.verify(credential, clock.now());
    if (!claims || await revocations.isRevoked(claims.sid)) throw invalidToken();
    const secondFactor = claims.amr?.some((m) => SECOND_FACTORS.has(m)) ?? false;
    // A token without auth_time (issued before 0008) never counts as a recent sign-in.
    const authTimeMs = claims.auth_time === undefined ? -Infinity : claims.auth_time * 1000;
    c.set("principal", {
      kind: "user",
      userId: claims.sub,
      role: claims.role,
      sessionId: claims.sid,
      secondFactor,
      freshAuth: clock.now() - authTimeMs <= stepUpMs,
      adminMfaMissing: requireMfa && isAdminRole(claims.role) && !secondFactor,
    });
    return next();
  };
}

/** What a route requires of its caller; checked by {@linkcode authorize}. */
export interface AccessRule {
  /** The scope an API key must hold (sessions hold every scope of their owner's role). */
  scope: string;
  /** Only admin and super_admin principals pass. */
  admin?: boolean;
  /** Only super_admin principals pass (signing keys: the power to mint every token). */
  superAdmin?: boolean;
  /** Only session access tokens pass: API keys are refused whatever their scopes. */
  sessionOnly?: boolean;
  /**
   * Step-up: a session must have proved who it is within STEP_UP_MAX_AGE. API keys are
   * service credentials with no one to ask, and pass.
   */
  fresh?: boolean;
}

const sessionRequired = () =>
  problem("session_required", {
    detail: "This endpoint accepts only a session access token, not an API key",
  });

/**
 * The one authorization guard: every protected route states its rule here, and every
 * kind of credential (session token, API key) is checked against it the same way: its
 * kind, its owner's role, and for keys the scope.
 */
export function authorize(rule: AccessRule): MiddlewareHandler<AppEnv> {
  const { scope, admin = false, superAdmin = false, sessionOnly = false, fresh = false } = rule;
  const access = { kind: "access", scope, admin, superAdmin, sessionOnly, fresh } as const;
  return withDoc(async function authorizeHandler(c, next) {
    const principal = c.get("principal");
    if (!principal) throw errors.unauthorized();
    if (sessionOnly && principal.kind !== "user") throw sessionRequired();
    if ((admin || superAdmin) && !isAdminRole(principal.role)) throw errors.forbidden();
    if ((admin || superAdmin) && principal.adminMfaMissing) throw mfaEnrollmentRequired();
    if (superAdmin && principal.role !== "super_admin") throw errors.forbidden();
    if (principal.scopes && !principal.scopes.has(scope)) {
      throw problem("insufficient_scope", {
        detail: `This API key lacks the ${scope} scope`,
      });
    }
    if (fresh) assertFreshAuthentication(principal);
    await next();
  }, access);
}

const mfaEnrollmentRequired = () =>
  problem("mfa_enrollment_required", {
    detail: "REQUIRE_MFA_FOR_ADMINS is on: enrol a second factor under /api/v1/me/mfa and " +
      "sign in with it to use the admin API",
  });

/**
 * Step-up, for checks that depend on the request body (an API key with an admin scope):
 * a session whose last proof of identity is older than STEP_UP_MAX_AGE gets 403
 * `reauthentication_required`; API keys pass.
 */
export function assertFreshAuthentication(principal: Principal): void {
  if (principal.kind === "user" && principal.freshAuth === false) {
    throw problem("reauthentication_required", {
      detail: "This operation needs a recent sign-in: POST /api/v1/auth/reauthenticate with " +
        "your password (and code), then retry with the new access token",
    });
  }
}

/**
 * Requires an admin or super_admin principal, and for API keys the admin scope; every admin
 * write also requires a fresh authentication (step-up).
 */
export function requireAdmin(scope: "admin:read" | "admin:write"): MiddlewareHandler<AppEnv> {
  return authorize({ scope, admin: true, fresh: scope === "admin:write" });
}

/** Requires a super_admin principal, and for API keys the admin scope. */
export function requireSuperAdmin(
  scope: "admin:read" | "admin:write",
): MiddlewareHandler<AppEnv> {
  return authorize({ scope, superAdmin: true, fresh: scope === "admin:write" });
}

/** Requires an API-key principal to hold a scope; user sessions hold every user scope. */
export function requireScope(scope: string): MiddlewareHandler<AppEnv> {
  return authorize({ scope });
}
