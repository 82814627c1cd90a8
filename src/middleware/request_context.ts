/**
 * The first middleware of every request: request id, client IP, secure flag, the access-log
 * line and the HTTP metrics.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { Logger } from "../platform/logger.ts";
import type { Metrics } from "../platform/metrics.ts";
import { recordHttpRequest } from "./http_metrics.ts";
import {
  compileTrustedProxies,
  type ForwardedHeader,
  resolveClient,
  type TrustedProxies,
} from "../lib/client_ip.ts";

/** Options of {@linkcode requestContext}. */
export interface RequestContextOptions {
  logger: Logger;
  /** TRUSTED_PROXIES as configured, or already compiled. */
  trustedProxies: readonly string[] | TrustedProxies;
  /** Which forwarding header the trusted proxies maintain (default x-forwarded-for). */
  forwardedHeader?: ForwardedHeader;
  now: () => number;
  /** Reads the socket peer address from the runtime's connection info. */
  peerAddress?: (env: unknown, request: Request) => string;
  /** Whether the connection itself is TLS; default {@linkcode connectionSecure}. */
  connectionSecure?: (env: unknown, request: Request) => boolean;
  /** Where each request is counted, when METRICS_ENABLED (http_metrics.ts). */
  metrics?: Metrics;
}

/**
 * The fetch env citadel's own listener (src/server/listen.ts) passes: the peer address and
 * whether the listener is TLS, which only the listener knows.
 */
export interface ListenerEnv {
  remoteAddr: Deno.Addr;
  secure: boolean;
}

const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The peer address Deno.serve passes as the second fetch argument. */
export function denoPeerAddress(env: unknown): string {
  const addr = (env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr;
  return addr?.hostname ?? "127.0.0.1";
}

/**
 * Whether the connection is TLS: the listener's word ({@linkcode ListenerEnv}) when it
 * gives one. Otherwise the URL's scheme, which is the connection's only where a platform
 * builds the URL itself (Cloudflare Workers, Deno Deploy, `app.request` in tests); under
 * plain `Deno.serve` an absolute-form target (`GET https://host/ HTTP/1.1`) sets it.
 */
export function connectionSecure(env: unknown, request: Request): boolean {
  const secure = (env as Partial<ListenerEnv> | undefined)?.secure;
  return typeof secure === "boolean" ? secure : request.url.startsWith("https:");
}

/**
 * Sets the request id (the client's when well formed, else a new UUID), the client IP
 * and the secure flag (from the connection or a trusted proxy only), writes one JSON
 * access-log line per request and, with `metrics`, counts it.
 */
export function requestContext(options: RequestContextOptions): MiddlewareHandler<AppEnv> {
  const peerAddress = options.peerAddress ?? denoPeerAddress;
  const overTls = options.connectionSecure ?? connectionSecure;
  const { logger, now, metrics } = options;
  const proxies = "contains" in options.trustedProxies
    ? options.trustedProxies
    : compileTrustedProxies(options.trustedProxies, { header: options.forwardedHeader });
  return async function requestContextHandler(c, next) {
    const started = now();
    const startedPrecisely = metrics ? performance.now() : 0;
    const offered = c.req.header("x-request-id");
    const requestId = offered && WELL_FORMED_ID.test(offered) ? offered : crypto.randomUUID();
    const peer = peerAddress(c.env, c.req.raw);
    const client = resolveClient(peer, c.req.raw.headers, overTls(c.env, c.req.raw), proxies);
    const clientIp = client.ip;
    c.set("requestId", requestId);
    c.set("clientIp", clientIp);
    c.set("secure", client.secure);
    await next();
    if (metrics) recordHttpRequest(metrics, c, (performance.now() - startedPrecisely) / 1000);
    c.res.headers.set("x-request-id", requestId);
    logger.info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: now() - started,
      request_id: requestId,
      client_ip: clientIp,
    });
  };
}
