/**
 * The Mozilla HTTP Observatory's scoring (the MDN observatory's published tests and
 * score table), computed from one response's headers: CSP, cookies, CORS, redirection,
 * Referrer-Policy, HSTS, SRI, X-Content-Type-Options, X-Frame-Options and CORP.
 *
 * Scoring: start at 100, add the penalties; if that is 90 or more, add the bonuses too.
 * 100 or more is A+. The best possible score is 135.
 */

/** One test's outcome: the Observatory's result name and its score modifier. */
export interface TestOutcome {
  result: string;
  modifier: number;
}

/** What the scorer needs besides the response itself. */
export interface ObservatoryInput {
  /** The response scored (the Observatory's "auto" response). */
  response: Response;
  /** Whether it was fetched over HTTPS with a valid certificate. */
  https: boolean;
  /**
   * The answer of the plain-HTTP listener for the same host, or `"no-http"` when the
   * host does not listen on plain HTTP (no redirection needed). Defaults to "no-http".
   */
  httpResponse?: Response | "no-http";
  /** The scanned host name; defaults to the response URL's host, else localhost. */
  host?: string;
  /** A response to a request sent with a foreign `Origin`, and that origin. */
  cors?: { origin: string; response: Response };
}

/** The score, grade and per-test outcomes. */
export interface ObservatoryResult {
  score: number;
  grade: string;
  tests: Record<string, TestOutcome>;
}

const BROAD = new Set([
  "ftp:",
  "http:",
  "https:",
  "*",
  "http://*",
  "http://*.*",
  "https://*",
  "https://*.*",
]);
const UNSAFE_INLINE = new Set(["'unsafe-inline'", "data:"]);
const BROAD_OR_INLINE = new Set([...BROAD, ...UNSAFE_INLINE]);

function parseCsp(value: string): Map<string, Set<string>> | undefined {
  const csp = new Map<string, Set<string>>();
  // Several policies (comma-separated or repeated headers): the first to set a directive wins.
  for (const policy of value.split(",")) {
    for (const directive of policy.split(";")) {
      const tokens = directive.trim().split(/\s+/).filter(Boolean);
      if (tokens.length === 0) continue;
      const name = tokens[0].toLowerCase();
      if (!/^[a-z-]+$/.test(name)) return undefined;
      if (!csp.has(name)) csp.set(name, new Set(tokens.slice(1).map((t) => t.toLowerCase())));
    }
  }
  return csp;
}

function scoreCsp(
  headers: Headers,
  https: boolean,
): TestOutcome & { csp?: Map<string, Set<string>> } {
  const value = headers.get("content-security-policy");
  if (value === null) return { result: "csp-not-implemented", modifier: -25 };
  const csp = parseCsp(value);
  if (!csp) return { result: "csp-header-invalid", modifier: -25 };
  if (csp.size === 0) return { result: "csp-not-implemented", modifier: -25 };
  const fallback = (name: string) => csp.get(name) ?? csp.get("default-src") ?? new Set(["*"]);
  const script = fallback("script-src");
  const object = fallback("object-src");
  const style = fallback("style-src");
  const active = [...csp].filter(([d]) =>
    d !== "img-src" && d !== "media-src" && d !== "script-src"
  )
    .flatMap(([, s]) => [...s]).concat([...script]);
  const passive = ["img-src", "media-src"].flatMap((
    d,
  ) => [...(csp.get(d) ?? csp.get("default-src") ?? [])]);
  const insecure = (s: string) => s.startsWith("http:") || s.startsWith("ftp:");
  let outcome: TestOutcome;
  if ([...script].some((s) => BROAD_OR_INLINE.has(s)) || [...object].some((s) => BROAD.has(s))) {
    outcome = { result: "csp-implemented-with-unsafe-inline", modifier: -20 };
  } else if (https && active.some(insecure)) {
    outcome = { result: "csp-implemented-with-insecure-scheme", modifier: -20 };
  } else if (script.has("'unsafe-eval'") || style.has("'unsafe-eval'")) {
    outcome = { result: "csp-implemented-with-unsafe-eval", modifier: -10 };
  } else if (https && passive.some(insecure)) {
    outcome = {
      result: "csp-implemented-with-insecure-scheme-in-passive-content-only",
      modifier: -10,
    };
  } else if ([...style].some((s) => BROAD_OR_INLINE.has(s))) {
    outcome = { result: "csp-implemented-with-unsafe-inline-in-style-src-only", modifier: 0 };
  } else if (csp.get("default-src")?.has("'none'") && csp.get("default-src")?.size === 1) {
    outcome = { result: "csp-implemented-with-no-unsafe-default-src-none", modifier: 10 };
  } else {
    outcome = { result: "csp-implemented-with-no-unsafe", modifier: 5 };
  }
  return { ...outcome, csp };
}

function scoreHsts(headers: Headers, https: boolean): TestOutcome {
  if (!https) return { result: "hsts-not-implemented-no-https", modifier: -20 };
  const value = headers.get("strict-transport-security");
  if (value === null) return { result: "hsts-not-implemented", modifier: -20 };
  if (value.includes(",")) return { result: "hsts-header-invalid", modifier: -20 };
  let maxAge: number | undefined;
  for (const part of value.split(";").map((p) => p.trim().toLowerCase())) {
    if (part.startsWith("max-age=")) maxAge = Number.parseInt(part.slice(8, 128), 10);
  }
  if (maxAge === undefined || Number.isNaN(maxAge)) {
    return { result: "hsts-header-invalid", modifier: -20 };
  }
  // The Observatory accepts 15552000 (180 days) as six months.
  return maxAge < 15_552_000
    ? { result: "hsts-implemented-max-age-less-than-six-months", modifier: -10 }
    : { result: "hsts-implemented-max-age-at-least-six-months", modifier: 0 };
}

// Worst last: a cookie can only make the result worse.
const COOKIE_ORDER: Array<[string, number]> = [
  ["cookies-without-secure-flag-but-protected-by-hsts", -5],
  ["cookies-without-secure-flag", -20],
  ["cookies-session-without-secure-flag-but-protected-by-hsts", -10],
  ["cookies-samesite-flag-invalid", -20],
  ["cookies-anticsrf-without-samesite-flag", -20],
  ["cookies-session-without-httponly-flag", -30],
  ["cookies-session-without-secure-flag", -40],
];

function scoreCookies(headers: Headers, hstsPassed: boolean): TestOutcome {
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

function scoreCors(input: ObservatoryInput): TestOutcome {
  const acao = input.cors?.response.headers.get("access-control-allow-origin")?.trim()
    .toLowerCase();
  if (!input.cors || !acao) {
    return { result: "cross-origin-resource-sharing-not-implemented", modifier: 0 };
  }
  if (acao === "*") {
    return { result: "cross-origin-resource-sharing-implemented-with-public-access", modifier: 0 };
  }
  const credentials = input.cors.response.headers.get("access-control-allow-credentials");
  if (acao === input.cors.origin.toLowerCase() && credentials?.trim().toLowerCase() === "true") {
    return {
      result: "cross-origin-resource-sharing-implemented-with-universal-access",
      modifier: -50,
    };
  }
  return {
    result: "cross-origin-resource-sharing-implemented-with-restricted-access",
    modifier: 0,
  };
}

function scoreRedirection(input: ObservatoryInput, host: string): TestOutcome {
  const http = input.httpResponse ?? "no-http";
  if (http === "no-http") return { result: "redirection-not-needed-no-http", modifier: 0 };
  const location = http.headers.get("location");
  if (http.status < 300 || http.status >= 400 || location === null) {
    return { result: "redirection-missing", modifier: -20 };
  }
  const target = new URL(location, `http://${host}/`);
  if (target.protocol !== "https:") return { result: "redirection-not-to-https", modifier: -20 };
  if (target.hostname !== host) return { result: "redirection-off-host-from-http", modifier: -5 };
  return { result: "redirection-to-https", modifier: 0 };
}

function scoreReferrer(headers: Headers): TestOutcome {
  const good = ["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"];
  const bad = ["origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"];
  const value = headers.get("referrer-policy");
  if (value === null) return { result: "referrer-policy-not-implemented", modifier: 0 };
  const policy = value.split(",").map((p) => p.trim().toLowerCase())
    .filter((p) => good.includes(p) || bad.includes(p)).at(-1);
  if (policy && good.includes(policy)) return { result: "referrer-policy-private", modifier: 5 };
  if (policy) return { result: "referrer-policy-unsafe", modifier: -5 };
  return { result: "referrer-policy-header-invalid", modifier: -5 };
}

function scoreSri(headers: Headers, body: string): TestOutcome {
  if (!(headers.get("content-type") ?? "").toLowerCase().includes("html")) {
    return { result: "sri-not-implemented-response-not-html", modifier: 0 };
  }
  // citadel serves no HTML; an HTML page with scripts is scored as the common bad case.
  return /<script/i.test(body)
    ? { result: "sri-not-implemented-but-external-scripts-loaded-securely", modifier: -5 }
    : { result: "sri-not-implemented-but-no-scripts-loaded", modifier: 0 };
}

function scoreNosniff(headers: Headers): TestOutcome {
  const value = headers.get("x-content-type-options");
  if (value === null) return { result: "x-content-type-options-not-implemented", modifier: -5 };
  return value.trim().toLowerCase() === "nosniff"
    ? { result: "x-content-type-options-nosniff", modifier: 0 }
    : { result: "x-content-type-options-header-invalid", modifier: -5 };
}

function scoreFrameOptions(headers: Headers, csp?: Map<string, Set<string>>): TestOutcome {
  if (csp?.has("frame-ancestors")) {
    return { result: "x-frame-options-implemented-via-csp", modifier: 5 };
  }
  const value = headers.get("x-frame-options")?.trim().toLowerCase();
  if (value === undefined) return { result: "x-frame-options-not-implemented", modifier: -20 };
  if (value === "deny" || value === "sameorigin") {
    return { result: "x-frame-options-sameorigin-or-deny", modifier: 0 };
  }
  if (value.startsWith("allow-from")) {
    return { result: "x-frame-options-allow-from-origin", modifier: 0 };
  }
  return { result: "x-frame-options-header-invalid", modifier: -20 };
}

function scoreCorp(headers: Headers): TestOutcome {
  const value = headers.get("cross-origin-resource-policy")?.trim().toLowerCase();
  if (value === undefined) return { result: "corp-not-implemented", modifier: 0 };
  if (value === "same-origin") return { result: "corp-implemented-with-same-origin", modifier: 10 };
  if (value === "same-site") return { result: "corp-implemented-with-same-site", modifier: 10 };
  if (value === "cross-origin") {
    return { result: "corp-implemented-with-cross-origin", modifier: 0 };
  }
  return { result: "corp-header-invalid", modifier: -5 };
}

const GRADES: Array<[number, string]> = [
  [100, "A+"],
  [90, "A"],
  [85, "A-"],
  [80, "B+"],
  [70, "B"],
  [65, "B-"],
  [60, "C+"],
  [50, "C"],
  [45, "C-"],
  [40, "D+"],
  [30, "D"],
  [25, "D-"],
  [0, "F"],
];

/** Scores a response the way the HTTP Observatory scores a site. Reads the body (for SRI). */
export async function observatoryScore(input: ObservatoryInput): Promise<ObservatoryResult> {
  const headers = input.response.headers;
  const host = input.host ?? new URL(input.response.url || "https://localhost/").hostname;
  const body = input.response.bodyUsed ? "" : await input.response.clone().text();
  const csp = scoreCsp(headers, input.https);
  const hsts = scoreHsts(headers, input.https);
  const tests: Record<string, TestOutcome> = {
    "content-security-policy": { result: csp.result, modifier: csp.modifier },
    "cookies": scoreCookies(headers, hsts.modifier === 0),
    "cross-origin-resource-sharing": scoreCors(input),
    "redirection": scoreRedirection(input, host),
    "referrer-policy": scoreReferrer(headers),
    "strict-transport-security": hsts,
    "subresource-integrity": scoreSri(headers, body),
    "x-content-type-options": scoreNosniff(headers),
    "x-frame-options": scoreFrameOptions(headers, csp.csp),
    "cross-origin-resource-policy": scoreCorp(headers),
  };
  const modifiers = Object.values(tests).map((t) => t.modifier);
  const penalised = 100 + modifiers.filter((m) => m < 0).reduce((a, b) => a + b, 0);
  const raw = penalised >= 90 ? 100 + modifiers.reduce((a, b) => a + b, 0) : penalised;
  const score = Math.max(raw, 0);
  const grade = GRADES.find(([min]) => score >= min)![1];
  return { score, grade, tests };
}
