/**
 * The HTTP Observatory's cookie and subresource-integrity tests.
 */
import type { ObservatoryResult } from "./observatory_csp.ts";

// The Observatory's order, best to worst: a cookie can only make the result worse.
const COOKIE_ORDER: Array<[string, number]> = [
  ["cookies-without-secure-flag-but-protected-by-hsts", -5],
  ["cookies-without-secure-flag", -20],
  ["cookies-session-without-secure-flag-but-protected-by-hsts", -10],
  ["cookies-samesite-flag-invalid", -20],
  ["cookies-anticsrf-without-samesite-flag", -20],
  ["cookies-session-without-httponly-flag", -30],
  ["cookies-session-without-secure-flag", -40],
];

/** The Observatory's cookies test over every Set-Cookie of the response. */
export function gradeCookies(headers: Headers, hstsPassed: boolean): ObservatoryResult {
  const cookies = headers.getSetCookie();
  if (cookies.length === 0) return { result: "cookies-not-found", modifier: 0 };
  let worst = -1;
  const worse = (result: string) => {
    worst = Math.max(worst, COOKIE_ORDER.findIndex(([r]) => r === result));
  };
  let missingSameSite = false;
  for (const raw of cookies) {
    const [pair, ...attributes] = raw.split(";").map((p) => p.trim());
    const name = pair.split("=")[0].toLowerCase();
    const attrs = new Map(attributes.map((a) => {
      const [k, v] = a.split("=");
      return [k.trim().toLowerCase(), v?.trim().toLowerCase() ?? ""] as const;
    }));
    const secure = attrs.has("secure");
    const sameSite = attrs.get("samesite");
    const session = name.includes("login") || name.includes("sess");
    if (sameSite !== undefined && !["lax", "strict", "none"].includes(sameSite)) {
      worse("cookies-samesite-flag-invalid");
    }
    if (!secure && sameSite === "none") worse("cookies-samesite-flag-invalid");
    if (!secure) {
      worse(
        hstsPassed
          ? "cookies-without-secure-flag-but-protected-by-hsts"
          : "cookies-without-secure-flag",
      );
    }
    if (name.includes("csrf") && !sameSite) worse("cookies-anticsrf-without-samesite-flag");
    if (session && !secure) {
      worse(
        hstsPassed
          ? "cookies-session-without-secure-flag-but-protected-by-hsts"
          : "cookies-session-without-secure-flag",
      );
    }
    if (session && !attrs.has("httponly")) worse("cookies-session-without-httponly-flag");
    if (!sameSite) missingSameSite = true;
  }
  if (worst >= 0) return { result: COOKIE_ORDER[worst][0], modifier: COOKIE_ORDER[worst][1] };
  return missingSameSite
    ? { result: "cookies-secure-with-httponly-sessions", modifier: 0 }
    : { result: "cookies-secure-with-httponly-sessions-and-samesite", modifier: 5 };
}

/** The Observatory's subresource-integrity test: only HTML pages that load scripts. */
export function gradeSri(headers: Headers, body: string, pageUrl: string): ObservatoryResult {
  if (!/html/i.test(headers.get("content-type") ?? "")) {
    return { result: "sri-not-implemented-response-not-html", modifier: 0 };
  }
  const scripts = [...body.matchAll(/<script\b[^>]*\bsrc\s*=\s*["']?([^"'\s>]+)[^>]*>/gi)]
    .map((m) => ({ src: m[1], integrity: /\bintegrity\s*=/i.test(m[0]) }));
  if (scripts.length === 0) {
    return { result: "sri-not-implemented-but-no-scripts-loaded", modifier: 0 };
  }
  const base = new URL(URL.canParse(pageUrl) ? pageUrl : "https://localhost/");
  const external = scripts.filter((s) => new URL(s.src, base).origin !== base.origin);
  if (external.length === 0) {
    return scripts.every((s) => s.integrity)
      ? { result: "sri-implemented-and-all-scripts-loaded-securely", modifier: 5 }
      : { result: "sri-not-implemented-but-all-scripts-loaded-from-secure-origin", modifier: 0 };
  }
  const withIntegrity = external.every((s) => s.integrity);
  const insecure = external.some((s) =>
    s.src.startsWith("//") || new URL(s.src, base).protocol !== "https:"
  );
  if (insecure) {
    return withIntegrity
      ? { result: "sri-implemented-but-external-scripts-not-loaded-securely", modifier: -20 }
      : { result: "sri-not-implemented-and-external-scripts-not-loaded-securely", modifier: -50 };
  }
  return withIntegrity
    ? { result: "sri-implemented-and-external-scripts-loaded-securely", modifier: 5 }
    : { result: "sri-not-implemented-but-external-scripts-loaded-securely", modifier: -5 };
}
