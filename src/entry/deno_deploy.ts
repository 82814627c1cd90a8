/**
 * Deno Deploy entry: `export default { fetch }`. Deps differ from the binary only in
 * what Deploy lacks: the database is remote libSQL / Turso through the web client
 * (DATABASE_URL=libsql://..., DATABASE_AUTH_TOKEN), argon2id runs in WebAssembly,
 * counters live in the database, logs go to the console, nothing is written to disk.
 *
 * Start-up happens on the first request of each isolate (Deploy may start many):
 * pending migrations are applied (MIGRATE_ON_START, default true; each migration runs in
 * its own write transaction and re-checks it was not applied meanwhile, so concurrent
 * isolates are safe) and the super admin is created from SUPER_ADMIN_USERNAME /
 * SUPER_ADMIN_PASSWORD when none exists. Until start-up succeeds requests get a 503.
 *
 * Run locally with Deploy-like permissions:
 * `deno serve --allow-net --allow-env --deny-write --deny-ffi src/entry/deno_deploy.ts`
 */
import { applyMigrations } from "../services/apply_migrations.ts";
import { createApp } from "../app.ts";
import type { Config } from "../config.ts";
import { connectWeb } from "../db/connect_web.ts";
import type { Db } from "../db/schema.ts";
import type { Clock } from "../platform/clock.ts";
import { consoleSink } from "../platform/log_console_sink.ts";
import { createLogger, type Logger } from "../platform/logger.ts";
import {
  bootstrapFromSecrets,
  edgeConfig,
  edgeDeps,
  edgeMetrics,
  lazyInit,
  notReadyResponse,
  startedOrLogged,
} from "./edge.ts";

/** Replaces parts of the Deploy wiring; tests inject a database that needs no server. */
export interface DeployOptions {
  /** The environment; default `Deno.env.toObject()`. */
  env?: Record<string, string | undefined>;
  /** Opens the database instead of the remote web client. */
  database?: (config: Config) => Db | Promise<Db>;
  clock?: Clock;
  logger?: Logger;
}

/** A `fetch` handler as `deno serve` and Deno Deploy call it. */
export interface DeployHandler {
  fetch(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response>;
}

/** Builds the Deploy handler; the work happens on the first request. */
export function createDeployHandler(options: DeployOptions = {}): DeployHandler {
  const fallbackLog = options.logger ?? createLogger({ sinks: [consoleSink()] });
  const ready = lazyInit(async () => {
    const config = edgeConfig(options.env ?? Deno.env.toObject());
    const { metrics, onQuery } = edgeMetrics();
    const db = options.database ? await options.database(config) : connectWeb({
      databaseUrl: config.databaseUrl,
      databaseAuthToken: config.databaseAuthToken,
      onQuery,
    }).db;
    const deps = edgeDeps(config, { db, clock: options.clock, logger: options.logger, metrics });
    if (config.migrateOnStart) await applyMigrations(deps);
    await bootstrapFromSecrets(deps);
    return createApp(deps);
  });

  return {
    async fetch(request, info) {
      const app = await startedOrLogged(ready, fallbackLog);
      if (!app) return notReadyResponse();
      return await app.fetch(request, info);
    },
  };
}

let handler: DeployHandler | undefined;

/** Deno Deploy and `deno serve` call this; the handler is built on the first request. */
export default {
  fetch(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    handler ??= createDeployHandler();
    return handler.fetch(request, info);
  },
} satisfies DeployHandler;
