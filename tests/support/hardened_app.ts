import { Hono } from "hono";
import type { AppEnv } from "../../src/app_types.ts";
import { AppError, errors } from "../../src/errors.ts";
import { cors } from "../../src/middleware/cors.ts";
import { csrfCheck, csrfGuard } from "../../src/middleware/csrf.ts";
import { errorHandler, notFoundHandler } from "../../src/middleware/errors.ts";
import { hostGuard } from "../../src/middleware/host_guard.ts";
import { jsonBody } from "../../src/middleware/json_body.ts";
import { requestContext } from "../../src/middleware/request_context.ts";
import { secureHeaders } from "../../src/middleware/secure_headers.ts";
import { createLogger, memorySink } from "../../src/platform/logger.ts";

/** Options of {@linkcode hardenedApp}. */
export interface HardenedAppOptions {
  allowedHosts?: string[];
  origins?: string[];
  crossOriginResourcePolicy?: "same-origin" | "same-site";
}

export const ALLOWED_ORIGIN = "https://app.example.com";
export const ALLOWED_HOSTS = ["api.example.com", ".example.org", "localhost", "127.0.0.1"];

/**
 * A small app with the middleware in the order app.ts is meant to use (requestContext,
 * secureHeaders, hostGuard, cors, csrfGuard, jsonBody, routes; onError/notFound from
 * src/middleware/errors.ts) and routes producing each status worth scoring.
 */
export function hardenedApp(options: HardenedAppOptions = {}) {
  const logger = createLogger({ level: "error", sinks: [memorySink()] });
  const origins = options.origins ?? [ALLOWED_ORIGIN];
  const hits = { count: 0 };
  const app = new Hono<AppEnv>();
  app.use(requestContext({ logger, trustedProxies: [], now: () => 0 }));
  app.use(secureHeaders({ crossOriginResourcePolicy: options.crossOriginResourcePolicy }));
  app.use(hostGuard({ allowedHosts: options.allowedHosts ?? ALLOWED_HOSTS }));
  app.use(cors({ origins }));
  app.use(csrfGuard({ origins }));
  app.use(jsonBody({ maxBytes: 256, maxDepth: 8, maxStringLength: 128 }));

  const requireSameOrigin = csrfCheck({ origins });
  app.get("/ok", (c) => {
    hits.count++;
    return c.json({ ok: true });
  });
  app.get("/private", () => {
    throw errors.unauthorized();
  });
  app.get("/limited", () => {
    throw new AppError(429, "rate_limited", { headers: { "retry-after": "30" } });
  });
  app.get("/boom", () => {
    throw new Error("SELECT * FROM users at /srv/citadel/src/db/users_repo.ts:42");
  });
  app.get("/moved", (c) => c.redirect("/ok", 301));
  app.get("/moved-immutable", () => Response.redirect("https://api.example.com/ok", 308));
  app.get("/leaky", (c) => {
    c.header("server", "nginx/1.0");
    c.header("x-powered-by", "PHP/5");
    c.header("access-control-allow-origin", "*");
    return c.json({ ok: true });
  });
  app.post("/echo", async (c) => c.json(await c.req.json()));
  app.post("/refresh", (c) => {
    requireSameOrigin(c);
    return c.json({ refreshed: true });
  });

  app.onError(errorHandler(logger));
  app.notFound(notFoundHandler(app));
  return { app, hits, close: () => logger.close() };
}
