/**
 * The plain-HTTP listener of HTTP_REDIRECT_PORT, which only redirects to HTTPS on an allowed
 * host.
 */
import { problem, problemResponse } from "../errors.ts";
import { hostMatcher, requestHost, urlAuthority } from "../middleware/host_guard.ts";
import { securityHeaderPairs } from "../middleware/secure_headers.ts";

/** Options of {@linkcode redirectHandler}. */
export interface RedirectHandlerOptions {
  /** The port of the HTTPS listener; 443 is left out of the Location. */
  httpsPort: number;
  /** ALLOWED_HOSTS; empty redirects any well-formed host (development). */
  allowedHosts: readonly string[];
}

/** Options of {@linkcode redirectServer}. */
export interface RedirectServerOptions extends RedirectHandlerOptions {
  hostname: string;
  /** The plain-HTTP port to listen on (HTTP_REDIRECT_PORT; 0 picks a free one). */
  port: number;
  signal?: AbortSignal;
  onListen?: (addr: { hostname: string; port: number }) => void;
}

/**
 * Answers every request with `301` to the same host and path on HTTPS. The host is
 * checked against the allowlist first, so a forged Host cannot turn the listener
 * into an open redirect; a refused host gets a 400 `invalid_host` problem.
 */
export function redirectHandler(options: RedirectHandlerOptions): (request: Request) => Response {
  const isAllowed = hostMatcher(options.allowedHosts);
  const port = options.httpsPort === 443 ? "" : `:${options.httpsPort}`;
  // Plain HTTP: no HSTS, browsers ignore it there.
  const headers = securityHeaderPairs({}, false);
  return function redirectToHttps(request) {
    const host = requestHost(request);
    if (host === undefined || !isAllowed(host)) {
      const response = problemResponse(
        problem("invalid_host", { detail: "The request's Host is not served here" }),
      );
      for (const [name, value] of headers) response.headers.set(name, value);
      return response;
    }
    const url = request.url;
    const authorityStart = url.indexOf("//") + 2;
    const pathStart = authorityStart + urlAuthority(url).length;
    const path = pathStart < url.length ? url.slice(pathStart) : "/";
    return new Response(null, {
      status: 301,
      headers: [...headers, ["location", `https://${host}${port}${path}`]] as [string, string][],
    });
  };
}

/** Starts the plain-HTTP listener that only redirects to HTTPS (HTTP_REDIRECT_PORT). */
export function redirectServer(options: RedirectServerOptions): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal: options.signal,
    onListen: options.onListen ?? (() => {}),
  }, redirectHandler(options));
}
