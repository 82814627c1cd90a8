/**
 * `GET /metrics`: the Prometheus text exposition of every metric (platform/metrics.ts), for a
 * scraper at an address in METRICS_ALLOWED_IPS (loopback by default) or one that sends
 * METRICS_TOKEN as a Bearer token. Anyone else gets the answer of an unknown route, so a scan
 * cannot tell it exists. Under `serve --workers N` the snapshot is every worker's, merged.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { constantTimeEqual } from "../lib/crypto.ts";
import { exposition, type MetricSnapshot } from "../lib/metrics_registry.ts";
import { documented } from "../lib/route_docs.ts";
import { compileTrustedProxies } from "../lib/trusted_proxies.ts";

/** The exposition format's content type (text, version 0.0.4). */
export const EXPOSITION_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Options of {@linkcode metricsRoutes}. */
export interface MetricsRouteOptions {
  /** Every metric's values (this isolate's, or all workers' merged). */
  snapshot: () => Promise<MetricSnapshot[]>;
  /** METRICS_ALLOWED_IPS: CIDRs, `loopback`, `private`. */
  allowedIps: readonly string[];
  /** METRICS_TOKEN, when set. */
  token?: string;
  /** The app's answer to an unknown route (errors.ts `unknownRoute`), path guard included. */
  unknown: (c: Context<AppEnv>) => Promise<Response>;
}

/** The route. */
export function metricsRoutes(options: MetricsRouteOptions) {
  const ranges = compileTrustedProxies(options.allowedIps);
  const bearer = options.token === undefined ? undefined : `Bearer ${options.token}`;
  const allowed = (c: Context<AppEnv>) =>
    ranges.contains(c.get("clientIp")) ||
    (bearer !== undefined && constantTimeEqual(c.req.header("authorization") ?? "", bearer));
  return new Hono<AppEnv>().get(
    "/metrics",
    documented({
      summary: "Prometheus metrics",
      description: "For a scraper at an address in METRICS_ALLOWED_IPS (loopback by default) " +
        "or one that sends METRICS_TOKEN as a Bearer token; anyone else gets 404 not_found, " +
        "as for an unknown route. Off with METRICS_ENABLED=false.",
      tags: ["service"],
      security: [{}, { metricsToken: [] }],
      responses: {
        200: {
          description: "The text exposition format 0.0.4",
          contentType: "text/plain",
          schema: z.string(),
        },
      },
      errors: ["not_found"],
    }, async (c) => {
      if (!allowed(c)) return await options.unknown(c);
      const text = exposition(await options.snapshot());
      return c.body(text, 200, { "content-type": EXPOSITION_TYPE });
    }),
  );
}
