/**
 * The security headers of every response (CSP, HSTS, frame, referrer and permissions
 * policies), computed once per options.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_types.ts";
import { type HeaderPair, setTrustedHeaders, validatedPairs } from "./trusted_headers.ts";

export type { HeaderPair } from "./trusted_headers.ts";

/** Options of {@linkcode secureHeaders}. */
export interface SecureHeadersOptions {
  hsts?: {
    /** Adds `preload`; only for domains submitted to the browsers' preload lists. */
    preload?: boolean;
  };
  /**
   * `same-origin` (default) or `same-site` when sibling subdomains embed responses
   * (CROSS_ORIGIN_RESOURCE_POLICY, which parseConfig validates; taken as given).
   */
  crossOriginResourcePolicy?: "same-origin" | "same-site";
}

/** The policy an API that serves only JSON needs: nothing may load, frame or submit. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Two years, the value the HSTS preload list asks for. */
export const HSTS_MAX_AGE = 63_072_000;

/**
 * Cache-Control of a public answer (the JWKS): shared caches may keep it five minutes, so
 * a key published or retired reaches verifiers that honour the header within that time.
 */
export const PUBLIC_CACHE_CONTROL = "public, max-age=300";

// Features a JSON API never needs; denying them keeps an injected page from using them.
const DENIED_FEATURES = [
  "accelerometer",
  "ambient-light-sensor",
  "autoplay",
  "battery",
  "bluetooth",
  "camera",
  "display-capture",
  "document-domain",
  "encrypted-media",
  "fullscreen",
  "geolocation",
  "gyroscope",
  "hid",
  "idle-detection",
  "magnetometer",
  "microphone",
  "midi",
  "payment",
  "picture-in-picture",
  "publickey-credentials-create",
  "publickey-credentials-get",
  "screen-wake-lock",
  "serial",
  "sync-xhr",
  "usb",
  "web-share",
  "xr-spatial-tracking",
];

/** The `Permissions-Policy` value denying every powerful feature. */
export const PERMISSIONS_POLICY = DENIED_FEATURES.map((f) => `${f}=()`).join(", ");

/** Console pages run passkey ceremonies: WebAuthn for this origin only, the rest denied. */
export const PAGE_PERMISSIONS_POLICY = DENIED_FEATURES.map((f) =>
  f.startsWith("publickey-credentials-") ? `${f}=(self)` : `${f}=()`
).join(", ");

/**
 * The security headers for a response, computed once per options. HSTS is only part
 * of the secure list: browsers ignore it over plain HTTP, and sending it there would
 * tell a reader the deployment is misconfigured.
 */
export function securityHeaderPairs(
  options: SecureHeadersOptions = {},
  secure = false,
  publicCache = false,
): HeaderPair[] {
  const corp = options.crossOriginResourcePolicy ?? "same-origin";
  const pairs: HeaderPair[] = [
    ["content-security-policy", CONTENT_SECURITY_POLICY],
    ["x-content-type-options", "nosniff"],
    ["x-frame-options", "DENY"],
    ["referrer-policy", "no-referrer"],
    ["cross-origin-opener-policy", "same-origin"],
    ["cross-origin-resource-policy", corp],
    ["cross-origin-embedder-policy", "require-corp"],
    ["permissions-policy", PERMISSIONS_POLICY],
    ["x-dns-prefetch-control", "off"],
    // 0 turns off the legacy XSS auditor, whose "1; mode=block" enabled cross-site leaks.
    ["x-xss-protection", "0"],
    ["cache-control", publicCache ? PUBLIC_CACHE_CONTROL : "no-store"],
  ];
  if (secure) {
    const preload = options.hsts?.preload ? "; preload" : "";
    pairs.push([
      "strict-transport-security",
      `max-age=${HSTS_MAX_AGE}; includeSubDomains${preload}`,
    ]);
  }
  return validatedPairs(pairs);
}

function withMutableHeaders(response: Response): Response {
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
  });
}

/** Names this middleware owns: its own headers, plus the two it strips. */
function ownedNames(pairs: readonly HeaderPair[]): Set<string> {
  return new Set([...pairs.map(([name]) => name), "server", "x-powered-by"]);
}

/**
 * Sets the security headers on every response, errors and preflights included, and
 * removes `Server` and `X-Powered-By`. Mount it right after requestContext so that
 * everything below, including onError and notFound results, passes through it. The
 * header lists are built and validated once; per request they are appended without
 * re-validation (see trusted_headers.ts for why that matters).
 */
export function secureHeaders(options: SecureHeadersOptions = {}): MiddlewareHandler<AppEnv> {
  const plain = securityHeaderPairs(options, false);
  const secure = securityHeaderPairs(options, true);
  const plainPublic = securityHeaderPairs(options, false, true);
  const securePublic = securityHeaderPairs(options, true, true);
  const owned = ownedNames(secure);
  return async function secureHeadersHandler(c, next) {
    await next();
    let pairs = c.get("publicCache")
      ? (c.get("secure") ? securePublic : plainPublic)
      : (c.get("secure") ? secure : plain);
    const page = c.get("pagePolicy");
    // A page: its own policies (a nonce per response), validated where they are built.
    if (page !== undefined) {
      pairs = pairs.map(([name, value]) =>
        name === "content-security-policy"
          ? [name, page.contentSecurityPolicy]
          : name === "permissions-policy"
          ? [name, page.permissionsPolicy]
          : [name, value]
      );
    }
    if (!setTrustedHeaders(c.res.headers, pairs, owned)) {
      // Responses built with Response.redirect() or fetch() have immutable headers.
      c.res = withMutableHeaders(c.res);
      setTrustedHeaders(c.res.headers, pairs, owned);
    }
  };
}
