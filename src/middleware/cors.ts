/**
 * The CORS middleware: exact allowlisted origins, precomputed headers, and a readable 403
 * problem for refused preflights.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_types.ts";
import { AppError, problem } from "../errors.ts";
import { type HeaderPair, setTrustedHeaders, validatedPairs } from "./trusted_headers.ts";

/** Options of {@linkcode cors}. */
export interface CorsOptions {
  /**
   * CORS_ORIGINS as parseConfig leaves it: exact origins (scheme://host[:port]), or `*`,
   * which config allows only when APP_ENV=development. Taken as given.
   */
  origins: readonly string[];
  /** Methods a preflight may ask for. */
  allowMethods?: readonly string[];
  /** Request headers a preflight may ask for (case-insensitive). */
  allowHeaders?: readonly string[];
  /** Response headers scripts of allowed origins may read. */
  exposeHeaders?: readonly string[];
  /** How long browsers may cache a preflight, in seconds. */
  maxAgeSeconds?: number;
}

/** Methods the API uses. */
export const CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;
/** Request headers the API reads. */
export const CORS_ALLOW_HEADERS = [
  "Authorization",
  "Content-Type",
  "X-API-Key",
  "X-Request-Id",
] as const;
/** Response headers clients need: retry hints, request ids, auth challenges, limits. */
export const CORS_EXPOSE_HEADERS = [
  "Retry-After",
  "WWW-Authenticate",
  "X-Request-Id",
  "RateLimit",
  "RateLimit-Policy",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
] as const;

interface OriginPolicy {
  actual: HeaderPair[];
  /** Cloned per preflight: cloning copies the validated header list without re-checking it. */
  preflight: Response;
}

const OWNED = new Set([
  "access-control-allow-origin",
  "access-control-allow-credentials",
  "access-control-expose-headers",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-max-age",
]);
const VARY_ACTUAL: HeaderPair[] = [["vary", "Origin"]];
const VARY_PREFLIGHT = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

function policyFor(
  origin: string,
  options: Required<Omit<CorsOptions, "origins">>,
): OriginPolicy {
  // Credentials only ever go with an explicitly listed origin, never with *.
  const credentials: [string, string][] = origin === "*"
    ? []
    : [["access-control-allow-credentials", "true"]];
  const common: [string, string][] = [["access-control-allow-origin", origin], ...credentials];
  return {
    actual: validatedPairs([
      ...common,
      ["access-control-expose-headers", options.exposeHeaders.join(", ")],
      ...VARY_ACTUAL,
    ]),
    preflight: new Response(null, {
      status: 204,
      headers: [
        ...common,
        ["access-control-allow-methods", options.allowMethods.join(", ")],
        ["access-control-allow-headers", options.allowHeaders.join(", ")],
        ["access-control-max-age", String(options.maxAgeSeconds)],
        ["vary", VARY_PREFLIGHT],
      ],
    }),
  };
}

function preflightRejected(detail: string): AppError {
  return problem("cors_rejected", { detail, headers: { vary: VARY_PREFLIGHT } });
}

/**
 * Strict CORS: only allowlisted exact origins are reflected (with credentials), `*`
 * only in development and never with credentials, `null` never. Every response varies
 * on Origin. A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an
 * allowed origin asking for allowed methods and headers gets 204 with the allow
 * headers; any other preflight gets a 403 `cors_rejected` problem without CORS headers,
 * which browsers treat as a failed preflight and developers can read. Header lists are
 * precomputed per origin.
 */
export function cors(options: CorsOptions): MiddlewareHandler<AppEnv> {
  const settings = {
    allowMethods: options.allowMethods ?? CORS_METHODS,
    allowHeaders: options.allowHeaders ?? CORS_ALLOW_HEADERS,
    exposeHeaders: options.exposeHeaders ?? CORS_EXPOSE_HEADERS,
    maxAgeSeconds: options.maxAgeSeconds ?? 600,
  };
  const policies = new Map<string, OriginPolicy>();
  let wildcard: OriginPolicy | undefined;
  for (const origin of options.origins) {
    if (origin === "*") wildcard = policyFor("*", settings);
    else policies.set(origin, policyFor(origin, settings));
  }
  const methods = new Set(settings.allowMethods);
  const headers = new Set(settings.allowHeaders.map((h) => h.toLowerCase()));
  const headersAllowed = (requested: string | null) =>
    requested === null ||
    requested.split(",").every((h) => {
      const name = h.trim().toLowerCase();
      return name === "" || headers.has(name);
    });

  return async function corsHandler(c, next) {
    const origin = c.req.raw.headers.get("origin");
    const policy = origin === null || origin === "null"
      ? undefined
      : policies.get(origin) ?? wildcard;
    if (c.req.method === "OPTIONS" && origin !== null) {
      const method = c.req.raw.headers.get("access-control-request-method");
      if (method !== null) {
        if (!policy) throw preflightRejected("The origin is not allowed");
        if (!methods.has(method)) throw preflightRejected("The method is not allowed");
        if (!headersAllowed(c.req.raw.headers.get("access-control-request-headers"))) {
          throw preflightRejected("A requested header is not allowed");
        }
        return policy.preflight.clone();
      }
    }
    await next();
    // Owned names are cleared even for refused origins: no handler can widen the policy.
    setTrustedHeaders(c.res.headers, policy ? policy.actual : VARY_ACTUAL, OWNED);
    return;
  };
}
