/**
 * What the two edge entries share: the edge configuration, deps (WebAssembly argon2, database
 * counters, console logs), the super-admin bootstrap from secrets and the not-ready answer.
 */
import type { AppDeps } from "../app_types.ts";
import { type Config, ConfigError, parseConfig } from "../config.ts";
import type { Db } from "../db/schema.ts";
import { problem, problemResponse } from "../errors.ts";
import { wasmArgon2 } from "../platform/argon2_wasm.ts";
import { type Clock, systemClock } from "../platform/clock.ts";
import { databaseCounterStore } from "../platform/counter_store_database.ts";
import { consoleSink } from "../platform/log_console_sink.ts";
import { createLogger, type Logger } from "../platform/logger.ts";
import { Metrics } from "../platform/metrics.ts";
import { runtimeName } from "../platform/runtime_name.ts";
import { createAlerter } from "../services/alerts.ts";
import { bootstrapSuperAdmin } from "../services/bootstrap_admin.ts";
import { createServices } from "../services/container.ts";
import { VERSION } from "../version.ts";

/**
 * Reads the configuration of a serverless target (Deno Deploy, Cloudflare Workers)
 * from its string variables and secrets. Counters always live in the database there:
 * isolates come and go, so in-memory counters would let an attacker reset a brute-force
 * budget by landing on a fresh isolate. JWT_SECRET_KEY (and, in production, HASH_PEPPER;
 * with EdDSA or ES256, ENCRYPTION_KEY) is required because there is no disk to keep a
 * generated secret on. TLS is the platform's, so production
 * does not ask for TLS_CERT_FILE or ALLOW_INSECURE_HTTP.
 */
export function edgeConfig(env: Readonly<Record<string, unknown>>): Config {
  const strings: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string") strings[name] = value;
  }
  const config = parseConfig({
    // The platform terminates TLS at its edge; the production TLS check is about the
    // binary's own listener, which does not exist here.
    ALLOW_INSECURE_HTTP: "true",
    ...strings,
    RATE_LIMIT_STORE: "database",
  });
  const problems = [];
  if (!config.jwt.secret) {
    problems.push({
      variable: "JWT_SECRET_KEY",
      problem: "is required on Deno Deploy and Cloudflare Workers",
      fix: "Generate one with `citadel secret` and store it as a secret of the deployment",
    });
  }
  // No disk for a generated pepper: production names it (development derives it from the
  // JWT secret, as releases before 0.2 did).
  if (!config.hashPepper && config.appEnv === "production") {
    problems.push({
      variable: "HASH_PEPPER",
      problem: "is required on Deno Deploy and Cloudflare Workers when APP_ENV=production",
      fix: "Generate one with `citadel secret` and store it as a secret of the deployment",
    });
  }
  if (!config.encryption.key && config.jwt.algorithm !== "HS256") {
    problems.push({
      variable: "ENCRYPTION_KEY",
      problem: "is required on Deno Deploy and Cloudflare Workers with JWT_ALGORITHM " +
        config.jwt.algorithm,
      fix: "Generate one with `openssl rand -base64 32` and store it as a secret of the " +
        "deployment",
    });
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** What {@linkcode edgeDeps} needs besides the config. */
export interface EdgeDepsOptions {
  db: Db;
  clock?: Clock;
  logger?: Logger;
  /** The isolate's metrics (see {@linkcode edgeMetrics}); createApp makes its own otherwise. */
  metrics?: Metrics;
}

/**
 * An edge isolate's metrics, made before its database so that every statement is timed: pass
 * `onQuery` to the connection and `metrics` to {@linkcode edgeDeps}.
 */
export function edgeMetrics(): { metrics: Metrics; onQuery: (ms: number) => void } {
  const metrics = new Metrics({ version: VERSION, runtime: runtimeName() });
  return { metrics, onQuery: (ms) => metrics.queryDuration.observe([], ms / 1000) };
}

/**
 * AppDeps for a serverless target: WebAssembly argon2id, database counters, console
 * logs, webhook alerts (deliveries run in the background; Workers keep the isolate alive
 * for them through `waitUntil`).
 */
export function edgeDeps(config: Config, options: EdgeDepsOptions): AppDeps {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ??
    createLogger({ level: config.logLevel, sinks: [consoleSink()], now: () => clock.now() });
  return {
    config,
    db: options.db,
    clock,
    hasher: wasmArgon2(config.argon2),
    counters: databaseCounterStore(options.db, clock),
    logger,
    alerts: createAlerter({
      logger,
      clock,
      webhookUrl: config.alerts.webhookUrl,
      webhookSecret: config.alerts.webhookSecret,
    }),
    version: VERSION,
    metrics: options.metrics,
  };
}

/**
 * Starts the signing keys (the first asymmetric key, a change of JWT_ALGORITHM; see
 * KeyAdmin.start) and creates the super admin from SUPER_ADMIN_USERNAME / SUPER_ADMIN_PASSWORD
 * (secrets) when none exists. Nothing is generated: there is no terminal to show a password on.
 * A password the policy refuses throws (start-up fails, naming the broken rules), and a
 * deployment without any administrator says once per isolate how to create one.
 */
export async function bootstrapFromSecrets(deps: AppDeps): Promise<void> {
  const result = await bootstrapSuperAdmin(deps.db, deps.hasher, {
    username: deps.config.superAdmin.username,
    password: deps.config.superAdmin.password,
    generateMissingPassword: false,
    passwordMinLength: deps.config.passwordMinLength,
    now: deps.clock.now(),
  });
  await createServices(deps).keyAdmin.start();
  if (result.created) deps.logger.info("super admin created", { login: result.login });
  else if (result.reason === "no_administrator") {
    deps.logger.warn(
      "no administrator exists: set the SUPER_ADMIN_USERNAME and SUPER_ADMIN_PASSWORD " +
        "secrets, or run `citadel admin create` against this database",
    );
  }
}

/** The 503 served while the deployment cannot start (bad config, database unreachable). */
export function notReadyResponse(): Response {
  const response = problemResponse(
    problem("not_ready", {
      detail: "The service is starting or misconfigured; try again shortly",
      headers: { "retry-after": "5" },
    }),
  );
  response.headers.set("cache-control", "no-store");
  response.headers.set("x-content-type-options", "nosniff");
  return response;
}

/** Awaits start-up; on failure logs why (no secrets: config errors name variables only). */
export async function startedOrLogged<T>(ready: () => Promise<T>, log: Logger) {
  try {
    return await ready();
  } catch (error) {
    log.error("start-up failed", { error: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}

/** Options of {@linkcode lazyInit}. */
export interface LazyInitOptions {
  /** How long a failed start is answered from memory before it is tried again. */
  retryAfterMs?: number;
  now?: () => number;
}

/**
 * Runs an async start-up once, on first use, shared by concurrent callers. A failure is
 * remembered for `retryAfterMs` (so a broken deployment is not hammered) and then
 * retried, so a deployment heals once its config or database is fixed.
 */
export function lazyInit<T>(start: () => Promise<T>, options: LazyInitOptions = {}) {
  const retryAfterMs = options.retryAfterMs ?? 5_000;
  const now = options.now ?? Date.now;
  let pending: Promise<T> | undefined;
  let failedAt = 0;
  return function get(): Promise<T> {
    if (pending && failedAt > 0 && now() - failedAt >= retryAfterMs) pending = undefined;
    if (!pending) {
      failedAt = 0;
      pending = start().catch((error) => {
        failedAt = now();
        throw error;
      });
    }
    return pending;
  };
}
