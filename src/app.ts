/**
 * The HTTP app: `createApp(deps)` builds the Hono app with the whole middleware order and
 * every route mounted, in this one place.
 */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./app_types.ts";
import { authenticate } from "./middleware/authenticate.ts";
import { cors } from "./middleware/cors.ts";
import { adminNetwork } from "./middleware/admin_network.ts";
import { consoleRoutes } from "./console/console_app.tsx";
import { csrfCheck, csrfGuard } from "./middleware/csrf.ts";
import { errorHandler, notFoundHandler, unknownRoute } from "./middleware/errors.ts";
import { hostGuard } from "./middleware/host_guard.ts";
import { jsonBody } from "./middleware/json_body.ts";
import { pathGuard } from "./middleware/path_guard.ts";
import { apiRateLimit, authRateLimit } from "./middleware/rate_limit.ts";
import { requestContext } from "./middleware/request_context.ts";
import { secureHeaders } from "./middleware/secure_headers.ts";
import { adminApiKeyRoutes } from "./routes/admin_api_keys.ts";
import { adminKeyRoutes } from "./routes/admin_keys.ts";
import { adminCheckRoutes } from "./routes/admin_check.ts";
import { adminUserRoutes } from "./routes/admin_users.ts";
import { apiKeyRoutes } from "./routes/api_keys.ts";
import { auditRoutes } from "./routes/audit.ts";
import { authRoutes } from "./routes/auth.ts";
import { authEmailRoutes } from "./routes/auth_email.ts";
import { healthRoutes } from "./routes/health.ts";
import { jwksRoutes } from "./routes/jwks.ts";
import { meRoutes } from "./routes/me.ts";
import { meMfaRoutes } from "./routes/me_mfa.ts";
import { mePasskeyRoutes } from "./routes/me_passkeys.ts";
import { meIdentityRoutes } from "./routes/me_identities.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { apiReferenceRoutes } from "./routes/api_reference.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { Metrics } from "./platform/metrics.ts";
import { runtimeName } from "./platform/runtime_name.ts";
import { VERSION } from "./version.ts";
import { createServices } from "./services/container.ts";

export type { AppDeps } from "./app_types.ts";

/** Options of {@linkcode createApp} that only entry points set. */
export interface CreateAppOptions {
  /** How to read the socket peer address from the runtime's fetch arguments. */
  peerAddress?: (env: unknown, request: Request) => string;
}

/** Every prefix that requires a Bearer token or an API key (`/x/*` also matches `/x`). */
const AUTHENTICATED_PATHS = ["/api/v1/me/*", "/api/v1/api-keys/*", "/api/v1/admin/*"];

/**
 * Builds the Hono app. The middleware order is defined here and only here:
 * 1. request context (request id, client IP, HTTPS flag), access log and HTTP metrics;
 * 2. security headers, set on every response that passes back through, errors included;
 * 3. host validation, then CORS (preflights end here);
 * 4. path guard (blocked clients, sensitive paths) before any body is read;
 * 5. CSRF check of cookie-authenticated writes; ADMIN_ALLOWED_IPS on administration; the web
 *    console (its own forms, CSRF tokens and session cookie; it calls the API in process);
 *    then JSON body parsing and limits;
 * 6. per-IP limits on the unauthenticated auth endpoints;
 * 7. authentication, then per-principal limits, on the protected prefixes;
 * 8. the routes; unknown routes feed the 404 guard.
 */
export function createApp(deps: AppDeps, options: CreateAppOptions = {}): Hono<AppEnv> {
  const { config, logger, clock, counters } = deps;
  const metrics = deps.metrics ?? new Metrics({ version: VERSION, runtime: runtimeName() });
  const app = new Hono<AppEnv>();
  const services = createServices({ ...deps, metrics });

  app.use(requestContext({
    logger,
    trustedProxies: config.trustedProxies,
    forwardedHeader: config.trustedProxyHeader,
    now: () => clock.now(),
    peerAddress: options.peerAddress,
    metrics: config.metrics.enabled ? metrics : undefined,
  }));
  app.use(secureHeaders({
    hsts: { preload: config.tls.hstsPreload },
    crossOriginResourcePolicy: config.crossOriginResourcePolicy,
  }));
  app.use(hostGuard({ allowedHosts: config.allowedHosts }));
  app.use(cors({ origins: config.corsOrigins }));
  const guard = pathGuard({
    counters,
    clock,
    logger,
    limits: config.pathGuard,
    blockCacheMs: counters.kind === "memory" ? 0 : 1000,
    onBlock: async (event) => {
      metrics.guardBlocks.inc([event.reason]);
      await services.audit(deps.db, {
        actorType: "anonymous",
        ip: event.ip,
        requestId: event.requestId ?? null,
        action: "guard.client_blocked",
        outcome: "denied",
        details: {
          reason: event.reason,
          path: event.path,
          blocked_until: new Date(event.until).toISOString(),
        },
      });
      deps.alerts.alert("client_blocked", { ip: event.ip, reason: event.reason });
    },
  });
  app.use(guard.middleware);
  app.use(csrfGuard({ origins: config.corsOrigins }));
  const adminOnly = adminNetwork(config.adminAllowedIps, unknownRoute(guard.onNotFound));
  for (const path of ["/admin", "/admin/*", "/api/v1/admin/*"]) app.use(path, adminOnly);
  // The console reads its own form bodies (not JSON), so it is mounted before the JSON parser.
  if (config.consoleEnabled) {
    const appFetch = (request: Request, env: unknown) => app.fetch(request, env);
    app.route("/", consoleRoutes(services, appFetch, logger, config.email.publicUrl));
  }
  app.use(jsonBody({
    maxBytes: config.maxBodyBytes,
    maxDepth: config.maxJsonDepth,
    maxStringLength: config.maxStringLength,
  }));

  // In development a 429 names the limit and the variable that raises it.
  const explain = config.appEnv === "development";
  const authLimiter = authRateLimit({
    counters,
    clock,
    settings: config.rateLimit,
    explain,
    metrics,
  });
  const authenticated = authenticate({
    jwt: services.jwt,
    revocations: services.revocations,
    clock,
    apiKeys: (key, c) => services.apiKeys.resolve(key, c.get("clientIp")),
    stepUpMaxAgeSeconds: config.mfa.stepUpMaxAgeSeconds,
    requireMfaForAdmins: config.mfa.requireForAdmins,
  });
  const apiLimiter = apiRateLimit({
    counters,
    clock,
    settings: config.rateLimit,
    explain,
    metrics,
  });

  app.route("/", healthRoutes(deps));
  app.route("/", jwksRoutes(services.keyRing));
  app.route(
    "/api/v1/auth",
    authRoutes(deps, services, {
      authenticated,
      principalLimiter: apiLimiter,
      limiter: authLimiter,
      checkCsrf: csrfCheck({ origins: config.corsOrigins }),
    }),
  );
  app.route("/api/v1/auth", authEmailRoutes(services, authLimiter));
  for (const path of AUTHENTICATED_PATHS) app.use(path, authenticated, apiLimiter);
  app.route("/api/v1/me/mfa", meMfaRoutes(services));
  app.route("/api/v1/me/passkeys", mePasskeyRoutes(services));
  app.route("/api/v1/me/identities", meIdentityRoutes(services));
  app.route("/api/v1/me", meRoutes(services));
  app.route("/api/v1/api-keys", apiKeyRoutes(deps, services));
  app.route("/api/v1/admin/users", adminUserRoutes(services));
  app.route("/api/v1/admin/api-keys", adminApiKeyRoutes(services));
  app.route("/api/v1/admin/keys", adminKeyRoutes(services));
  app.route("/api/v1/admin/check", adminCheckRoutes(deps));
  app.route("/", auditRoutes(deps));
  if (config.openApiEnabled) {
    app.route(
      "/",
      openApiRoutes(() => app, { version: VERSION, publicUrl: config.email.publicUrl }),
    );
    app.route("/", apiReferenceRoutes());
  }

  if (config.metrics.enabled) {
    app.route(
      "/",
      metricsRoutes({
        snapshot: () => deps.metricsSnapshot?.() ?? metrics.snapshot(),
        allowedIps: config.metrics.allowedIps,
        token: config.metrics.token,
        unknown: unknownRoute(guard.onNotFound),
      }),
    );
  }

  app.onError(errorHandler(logger));
  app.notFound(notFoundHandler(app, guard.onNotFound));
  return app;
}
