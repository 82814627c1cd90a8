import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./app_types.ts";
import { errorHandler, notFoundHandler } from "./middleware/errors.ts";
import { jsonBody } from "./middleware/json_body.ts";
import { authenticate } from "./middleware/authenticate.ts";
import { requestContext } from "./middleware/request_context.ts";
import { adminApiKeyRoutes } from "./routes/admin_api_keys.ts";
import { adminUserRoutes } from "./routes/admin_users.ts";
import { apiKeyRoutes } from "./routes/api_keys.ts";
import { authRoutes } from "./routes/auth.ts";
import { healthRoutes } from "./routes/health.ts";
import { meRoutes } from "./routes/me.ts";
import { createServices } from "./services/container.ts";

export type { AppDeps } from "./app_types.ts";

/** Options of {@linkcode createApp} that only entry points set. */
export interface CreateAppOptions {
  /** How to read the socket peer address from the runtime's fetch arguments. */
  peerAddress?: (env: unknown, request: Request) => string;
}

/**
 * Builds the Hono app. The middleware order is defined here and only here:
 * request context and access log, then body parsing, then the routes.
 */
export function createApp(deps: AppDeps, options: CreateAppOptions = {}): Hono<AppEnv> {
  const { config, logger, clock } = deps;
  const app = new Hono<AppEnv>();

  app.use(requestContext({
    logger,
    trustedProxies: config.trustedProxies,
    now: () => clock.now(),
    peerAddress: options.peerAddress,
  }));
  app.use(jsonBody({
    maxBytes: config.maxBodyBytes,
    maxDepth: config.maxJsonDepth,
    maxStringLength: config.maxStringLength,
  }));

  const services = createServices(deps);
  const authenticated = authenticate({
    jwt: services.jwt,
    revocations: services.revocations,
    clock,
    apiKeys: (key, c) => services.apiKeys.resolve(key, c.get("clientIp")),
  });

  app.route("/", healthRoutes(deps));
  app.route("/api/v1/auth", authRoutes(deps, services, { authenticated }));
  for (
    const path of [
      "/api/v1/me",
      "/api/v1/me/*",
      "/api/v1/api-keys",
      "/api/v1/api-keys/*",
      "/api/v1/admin/*",
    ]
  ) {
    app.use(path, authenticated);
  }
  app.route("/api/v1/me", meRoutes(deps, services));
  app.route("/api/v1/api-keys", apiKeyRoutes(deps, services));
  app.route("/api/v1/admin/users", adminUserRoutes(deps, services));
  app.route("/api/v1/admin/api-keys", adminApiKeyRoutes(deps, services));

  app.onError(errorHandler(logger));
  app.notFound(notFoundHandler(app));
  return app;
}
