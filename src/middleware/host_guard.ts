/**
 * The Host header guard: requests for hosts outside ALLOWED_HOSTS, or whose target names
 * another host, get 400 `invalid_host`.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_types.ts";
import { problem } from "../errors.ts";
import { parseHost } from "../lib/host.ts";

/** Options of {@linkcode hostGuard}. */
export interface HostGuardOptions {
  /**
   * ALLOWED_HOSTS as parseConfig leaves it (see `allowedHostEntry` in lib/host.ts): host
   * names in lower case without port or trailing dot; `.example.com` also allows every
   * subdomain of example.com. Empty allows any well-formed host (development only;
   * production config requires ALLOWED_HOSTS).
   */
  allowedHosts: readonly string[];
}

/**
 * Compiles an allowlist into a predicate over parsed host names. The entries are taken
 * as given: parseConfig is the one place that refuses an ALLOWED_HOSTS entry that is not
 * a host name, and normalises the rest.
 */
export function hostMatcher(allowedHosts: readonly string[]): (host: string) => boolean {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of allowedHosts) {
    if (entry.startsWith(".")) {
      exact.add(entry.slice(1));
      suffixes.push(entry);
    } else exact.add(entry);
  }
  if (exact.size === 0) return () => true;
  return function isAllowedHost(host) {
    if (exact.has(host)) return true;
    for (let i = 0; i < suffixes.length; i++) if (host.endsWith(suffixes[i])) return true;
    return false;
  };
}

/** The authority of an absolute URL string, without parsing the whole URL. */
export function urlAuthority(url: string): string {
  const start = url.indexOf("//") + 2;
  const end = url.indexOf("/", start);
  return end === -1 ? url.slice(start) : url.slice(start, end);
}

/**
 * The host a request is for, or undefined when it must be refused: a malformed Host,
 * or a request whose target names another host than its Host header (absolute-form
 * `GET http://evil.example/ HTTP/1.1` with `Host: api.example.com`, or an HTTP/2
 * `:authority` that disagrees with Host). Without a Host header (HTTP/1.0, HTTP/2)
 * the URL's authority is the host.
 */
export function requestHost(request: Request): string | undefined {
  const target = parseHost(urlAuthority(request.url));
  const header = request.headers.get("host");
  if (header === null) return target;
  const host = parseHost(header);
  return host !== undefined && host === target ? host : undefined;
}

/**
 * Refuses requests for hosts not in the allowlist with 400 `invalid_host`, so
 * Host-header tricks (poisoned links in e-mails, cache poisoning, routing to another
 * virtual host) cannot reach the app. Duplicate Host headers never get here: Deno's
 * HTTP server rejects them with a bare 400 before the app sees the request.
 */
export function hostGuard(options: HostGuardOptions): MiddlewareHandler<AppEnv> {
  const isAllowed = hostMatcher(options.allowedHosts);
  return async function hostGuardHandler(c, next) {
    const host = requestHost(c.req.raw);
    if (host === undefined || !isAllowed(host)) {
      throw problem("invalid_host", {
        detail: "The request's Host is not served here",
      });
    }
    await next();
  };
}
