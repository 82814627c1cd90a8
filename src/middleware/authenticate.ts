import type { MiddlewareHandler } from "hono";
import type { AppEnv, Principal } from "../app_types.ts";
import { AppError, errors } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { JwtService } from "../services/jwt.ts";
import type { RevocationList } from "../services/revocation_list.ts";

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
}

const invalidToken = () =>
  new AppError(401, "invalid_token", {
    detail: "The access token is invalid, expired or revoked",
    headers: { "www-authenticate": 'Bearer realm="citadel", error="invalid_token"' },
  });

/**
 * Requires a Bearer access token (or an API key: `Bearer ctd_...` or `X-API-Key`) and
 * sets `principal`. Revocation is checked against an in-memory set, not the database.
 */
export function authenticate(options: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  const { jwt, revocations, clock, apiKeys } = options;
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
      c.set("principal", await apiKeys(credential, c));
      return next();
    }
    if (header === undefined) throw invalidToken();
    const claims = await jwt.verify(credential, clock.now());
    if (!claims || await revocations.isRevoked(claims.sid)) throw invalidToken();
    c.set("principal", {
      kind: "user",
      userId: claims.sub,
      role: claims.role,
      sessionId: claims.sid,
    });
    return next();
  };
}

const PRIVILEGED = new Set(["admin", "super_admin"]);

/** True only for the known admin roles; a missing or unknown role has no privileges. */
export function isAdminRole(role: string | undefined): boolean {
  return role !== undefined && PRIVILEGED.has(role);
}

function assertScope(principal: Principal, scope: string): void {
  if (principal.scopes && !principal.scopes.has(scope)) {
    throw new AppError(403, "insufficient_scope", {
      detail: `This API key lacks the ${scope} scope`,
    });
  }
}

/** Requires an admin or super_admin principal (and an admin scope for API keys). */
export function requireAdmin(scope: "admin:read" | "admin:write"): MiddlewareHandler<AppEnv> {
  return async function requireAdminHandler(c, next) {
    const principal = c.get("principal");
    if (!principal) throw errors.unauthorized();
    if (!isAdminRole(principal.role)) throw errors.forbidden();
    assertScope(principal, scope);
    await next();
  };
}

/** Requires an API-key principal to hold a scope; user sessions hold every user scope. */
export function requireScope(scope: string): MiddlewareHandler<AppEnv> {
  return async function requireScopeHandler(c, next) {
    const principal = c.get("principal");
    if (!principal) throw errors.unauthorized();
    assertScope(principal, scope);
    await next();
  };
}
