/**
 * What a new or rotated API key may hold, given who asks for it: scopes within the
 * owner's role, and, when another API key asks, never more than that key holds
 * (scopes, lifetime, rate limit). Pure rules; the API-key service applies them.
 */
import type { Principal } from "./principal.ts";
import { errors, problem } from "../errors.ts";
import { isAdminRole } from "./roles.ts";

const ADMIN_SCOPES = new Set<string>(["admin:read", "admin:write"]);

/** The limits a key may be given: the operator's caps. */
export interface KeyCaps {
  /** API_KEY_MAX_LIFETIME_DAYS. */
  maxLifetimeDays: number;
  /** API_KEY_RATE_LIMIT_PER_MINUTE: the default and the most a user may ask for. */
  perMinute: number;
}

/** A key's requested grant, before defaults. */
export interface KeyRequest {
  scopes: string[];
  expiresInDays?: number;
  rateLimitPerMinute?: number;
}

/** A key's grant once checked: what is stored. */
export interface KeyGrant {
  scopes: string[];
  expiresAt: number;
  /** Null: the default, API_KEY_RATE_LIMIT_PER_MINUTE. */
  rateLimitPerMinute: number | null;
}

const DAY_MS = 86_400_000;
const DEFAULT_LIFETIME_DAYS = 90;

const lacksScopes = (missing: string[]) =>
  problem("insufficient_scope", {
    detail: `The calling API key may not grant scopes it lacks: ${missing.join(", ")}`,
  });

/** The calling key's own limits, when the caller is an API key. */
function callingKey(caller: Principal) {
  return caller.kind === "api_key"
    ? {
      scopes: caller.scopes ?? new Set<string>(),
      expiresAt: caller.expiresAt ?? 0,
      perMinute: caller.rateLimitPerMinute ?? 0,
    }
    : undefined;
}

/**
 * Checks a request for a new key by `caller` for an owner of `ownerRole` and fills the
 * defaults: 90 days (or the cap, or the calling key's own end, whichever is first) and
 * the default rate limit (or the calling key's, when lower).
 */
export function grantNewKey(
  request: KeyRequest,
  context: { caller: Principal; ownerRole: string; caps: KeyCaps; now: number },
): KeyGrant {
  const { caller, ownerRole, caps, now } = context;
  const scopes = [...new Set(request.scopes)];
  const forbidden = scopes.filter((s) => ADMIN_SCOPES.has(s) && !isAdminRole(ownerRole));
  if (forbidden.length > 0) {
    throw errors.validation([
      { field: "scopes", message: `only admins may grant ${forbidden.join(", ")}` },
    ]);
  }
  const parent = callingKey(caller);
  const missing = parent ? scopes.filter((s) => !parent.scopes.has(s)) : [];
  if (missing.length > 0) throw lacksScopes(missing);

  const problems = [];
  let expiresAt = now + (request.expiresInDays ??
        Math.min(DEFAULT_LIFETIME_DAYS, caps.maxLifetimeDays)) * DAY_MS;
  if (parent && expiresAt > parent.expiresAt) {
    if (request.expiresInDays !== undefined) {
      problems.push({
        field: "expires_in_days",
        message: `must not outlive the calling API key, which expires ${
          new Date(parent.expiresAt).toISOString()
        }`,
      });
    }
    expiresAt = parent.expiresAt;
  }
  let rateLimit = request.rateLimitPerMinute ?? null;
  if (rateLimit !== null && rateLimit > caps.perMinute) {
    problems.push({
      field: "rate_limit_per_minute",
      message: `must be at most ${caps.perMinute} (API_KEY_RATE_LIMIT_PER_MINUTE)`,
    });
  }
  if (parent && (rateLimit ?? caps.perMinute) > parent.perMinute) {
    if (rateLimit !== null) {
      problems.push({
        field: "rate_limit_per_minute",
        message: `must be at most ${parent.perMinute}, the calling API key's own limit`,
      });
    }
    rateLimit = parent.perMinute;
  }
  if (problems.length > 0) throw errors.validation(problems);
  return { scopes, expiresAt, rateLimitPerMinute: rateLimit };
}

/**
 * Checks that `caller` may rotate a key with this grant: an API key may rotate only
 * keys that hold no scope, no lifetime and no rate limit beyond its own.
 */
export function assertMayRotate(
  target: { scopes: string[]; expiresAt: number; perMinute: number },
  caller: Principal,
): void {
  const parent = callingKey(caller);
  if (!parent) return;
  const missing = target.scopes.filter((s) => !parent.scopes.has(s));
  if (missing.length > 0) throw lacksScopes(missing);
  if (target.expiresAt > parent.expiresAt || target.perMinute > parent.perMinute) {
    throw problem("insufficient_scope", {
      detail:
        "The calling API key may not rotate a key that outlives it or has a higher rate limit",
    });
  }
}
