/**
 * The CSRF defence for cookie-authenticated requests: the trusted-origin test, a guard for
 * unsafe methods and a check for routes that read a cookie themselves.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_types.ts";
import { AppError, problem } from "../errors.ts";
import { urlAuthority } from "./host_guard.ts";

/** Options of {@linkcode csrfGuard} and {@linkcode csrfCheck}. */
export interface CsrfOptions {
  /** Origins trusted to make state-changing requests (CORS_ORIGINS); `*` trusts none. */
  origins: readonly string[];
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function csrfRejected(): AppError {
  return problem("csrf_rejected", {
    detail: "Cookie-authenticated requests must come from an allowed origin",
  });
}

/**
 * Whether a request comes from a page the server trusts: the browser says it is
 * same-origin (`Sec-Fetch-Site`), or its `Origin` is allowlisted or is the server's
 * own origin. `Origin: null` (sandboxed frames, file: pages, some redirects) and a
 * missing Origin are not trusted.
 */
export function isTrustedOrigin(
  request: Request,
  secure: boolean,
  trusted: ReadonlySet<string>,
): boolean {
  const headers = request.headers;
  if (headers.get("sec-fetch-site") === "same-origin") return true;
  const origin = headers.get("origin");
  if (origin === null || origin === "null") return false;
  if (trusted.has(origin)) return true;
  const host = headers.get("host") ?? urlAuthority(request.url);
  return origin === `${secure ? "https" : "http"}://${host.toLowerCase()}`;
}

function trustedSet(options: CsrfOptions): Set<string> {
  return new Set(options.origins.filter((o) => o !== "*" && o !== "null"));
}

/**
 * A check for routes that authenticate with a cookie themselves, such as
 * `POST /api/v1/auth/refresh` when the refresh token comes from the `__Host-` cookie:
 * call it before using the cookie. Throws 403 `csrf_rejected` unless the request comes
 * from a trusted origin, whatever other headers it carries.
 */
export function csrfCheck(options: CsrfOptions): (c: Context<AppEnv>) => void {
  const trusted = trustedSet(options);
  return function assertTrustedOrigin(c) {
    if (!isTrustedOrigin(c.req.raw, c.get("secure") === true, trusted)) throw csrfRejected();
  };
}

/**
 * Guards every cookie-authenticated state-changing request (a method other than
 * GET/HEAD/OPTIONS that carries a Cookie and neither `Authorization` nor `X-API-Key`):
 * it must come from a trusted origin (see {@linkcode isTrustedOrigin}), else 403
 * `csrf_rejected`. Bearer and API-key requests are unaffected: a cross-site form or
 * fetch cannot attach those headers without a preflight that CORS refuses.
 */
export function csrfGuard(options: CsrfOptions): MiddlewareHandler<AppEnv> {
  const trusted = trustedSet(options);
  return async function csrfGuardHandler(c, next) {
    const headers = c.req.raw.headers;
    if (
      !SAFE_METHODS.has(c.req.method) &&
      headers.has("cookie") &&
      !headers.has("authorization") &&
      !headers.has("x-api-key") &&
      !isTrustedOrigin(c.req.raw, c.get("secure") === true, trusted)
    ) {
      throw csrfRejected();
    }
    await next();
  };
}
