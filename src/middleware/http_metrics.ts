/**
 * What every request adds to the HTTP metrics (`citadel_http_requests_total`,
 * `citadel_http_request_duration_seconds`), recorded by requestContext, the first middleware,
 * so the duration covers every other one and no extra middleware layer is paid for. The route
 * is the pattern the route was registered with (`/api/v1/admin/users/:id`), never the raw
 * path, so ids and probes cannot grow the label set: a request no route matches is
 * `unmatched`.
 */
import type { Context } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../app_types.ts";
import type { Metrics } from "../platform/metrics.ts";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * The registered pattern of the route the request was for (`GET /api/v1/me` also when the
 * guard answered 401 before it), or `unmatched` when no route has its method and path.
 */
export function routeTemplate(c: Context<AppEnv>): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    if (routes[i].method !== "ALL") return routes[i].path;
  }
  return "unmatched";
}

/** Counts one answered request that took `seconds`. */
export function recordHttpRequest(metrics: Metrics, c: Context<AppEnv>, seconds: number): void {
  const route = routeTemplate(c);
  const method = METHODS.has(c.req.method) ? c.req.method : "OTHER";
  metrics.httpRequests.inc([route, method, String(c.res.status)]);
  metrics.httpDuration.observe([route, method], seconds);
}
