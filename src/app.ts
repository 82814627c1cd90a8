import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./app_types.ts";
import { errorHandler, notFoundHandler } from "./middleware/errors.ts";
import { jsonBody } from "./middleware/json_body.ts";
import { requestContext } from "./middleware/request_context.ts";
import { healthRoutes } from "./routes/health.ts";

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

  app.route("/", healthRoutes(deps));

  app.onError(errorHandler(logger));
  app.notFound(notFoundHandler(app));
  return app;
}
