/**
 * The HTTP Observatory's Content-Security-Policy test: parsing a policy and grading it.
 * @module
 */

/** One graded Observatory test: its result name and score modifier. */
export interface ObservatoryResult {
  result: string;
  modifier: number;
}

/** A Content-Security-Policy as directive name -> sources (lower case). */
export type CspDirectives = Map<string, Set<string>>;

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
const NONCE_OR_HASH = /^'(sha256-|sha384-|sha512-|nonce-)/;

/**
 * Parses every Content-Security-Policy header (each may hold several comma-separated
 * policies). A directive seen in several policies keeps its first source list, which
 * is what the strictest reading of the first policy gives. Undefined when none is set,
 * null when the header cannot be parsed.
 */
export function parseCsp(headers: Headers): CspDirectives | undefined | null {
  const raw = headers.get("content-security-policy");
  if (raw === null) return undefined;
  const directives: CspDirectives = new Map();
  for (const policy of raw.split(",")) {
    for (const part of policy.split(";")) {
      const [name, ...sources] = part.trim().toLowerCase().split(/\s+/).filter(Boolean);
      if (!name) continue;
      if (!/^[a-z-]+$/.test(name)) return null;
      if (!directives.has(name)) directives.set(name, new Set(sources));
    }
  }
  // An empty policy restricts nothing: the Observatory counts it as not implemented.
  return directives.size === 0 ? undefined : directives;
}

function has(sources: Set<string>, set: ReadonlySet<string>): boolean {
  return [...sources].some((s) => set.has(s));
}

/** The Observatory's content-security-policy test on one response. */
export function gradeCsp(csp: CspDirectives | undefined | null, https: boolean): ObservatoryResult {
  if (csp === undefined) return { result: "csp-not-implemented", modifier: -25 };
  if (csp === null) return { result: "csp-header-invalid", modifier: -25 };
  const fallback = csp.get("default-src");
  const all = () => new Set(["*"]);
  const script = new Set(csp.get("script-src") ?? fallback ?? all());
  const object = csp.get("object-src") ?? fallback ?? all();
  const style = new Set(csp.get("style-src") ?? fallback ?? all());
  for (const list of [script, style]) {
    if ([...list].some((s) => NONCE_OR_HASH.test(s))) list.delete("'unsafe-inline'");
  }
  if (script.has("'strict-dynamic'")) {
    if (![...script].some((s) => NONCE_OR_HASH.test(s))) {
      return { result: "csp-header-invalid", modifier: -25 };
    }
    for (const s of [...script]) {
      if ([...BROAD].some((b) => s.startsWith(b)) || s === "'self'" || s === "'unsafe-inline'") {
        script.delete(s);
      }
    }
  }
  const passive = new Set(["img-src", "media-src"]);
  const active = [...csp.entries()].filter(([d]) => !passive.has(d) && d !== "script-src")
    .flatMap(([, s]) => [...s]).concat([...script]);
  const passiveSources = [...passive].flatMap((d) => [...(csp.get(d) ?? fallback ?? [])]);
  const insecure = (s: string) => s.startsWith("http:") || s.startsWith("ftp:");

  if (has(script, BROAD_OR_INLINE) || has(object, BROAD)) {
    return { result: "csp-implemented-with-unsafe-inline", modifier: -20 };
  }
  if (https && active.some(insecure)) {
    return { result: "csp-implemented-with-insecure-scheme", modifier: -20 };
  }
  if (script.has("'unsafe-eval'") || style.has("'unsafe-eval'")) {
    return { result: "csp-implemented-with-unsafe-eval", modifier: -10 };
  }
  if (https && passiveSources.some(insecure)) {
    return {
      result: "csp-implemented-with-insecure-scheme-in-passive-content-only",
      modifier: -10,
    };
  }
  if (has(style, BROAD_OR_INLINE)) {
    return { result: "csp-implemented-with-unsafe-inline-in-style-src-only", modifier: 0 };
  }
  if (fallback?.has("'none'") && fallback.size === 1) {
    return { result: "csp-implemented-with-no-unsafe-default-src-none", modifier: 10 };
  }
  return { result: "csp-implemented-with-no-unsafe", modifier: 5 };
}

/** True when the CSP sets frame-ancestors, which the Observatory rewards over X-Frame-Options. */
export function cspSetsFrameAncestors(csp: CspDirectives | undefined | null): boolean {
  return csp?.has("frame-ancestors") ?? false;
}
