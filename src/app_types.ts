/**
 * The app's types: the deps `createApp` receives (`AppDeps`) and the Hono environment with the
 * per-request variables middleware set.
 */
import type { Config } from "./config.ts";
import type { Db } from "./db/schema.ts";
import type { Clock } from "./platform/clock.ts";
import type { CounterStore } from "./platform/counter_store.ts";
import type { Logger } from "./platform/logger.ts";
import type { MetricSnapshot } from "./lib/metrics_registry.ts";
import type { Metrics } from "./platform/metrics.ts";
import type { PasswordHasher } from "./platform/password_hasher.ts";
import type { Alerter } from "./services/alerts.ts";
import type { Principal } from "./services/principal.ts";
import type { ConsoleSession } from "./services/console_sessions.ts";

export type { Principal };

/** Everything that differs between runtimes or tests, handed to {@linkcode createApp}. */
export interface AppDeps {
  config: Config;
  db: Db;
  clock: Clock;
  hasher: PasswordHasher;
  /** Rate-limit, login-guard and path-guard counters (memory, database or redis). */
  counters: CounterStore;
  logger: Logger;
  /** Security alerts: logged at WARN and, when configured, sent to a signed webhook. */
  alerts: Alerter;
  version: string;
  /** The Prometheus instruments; createApp makes its own when none is given. */
  metrics?: Metrics;
  /**
   * Every worker's metrics merged, for `GET /metrics` under `serve --workers N` (set by the
   * worker); otherwise the scrape reads this isolate's own.
   */
  metricsSnapshot?: () => Promise<MetricSnapshot[]>;
  /**
   * `citadel check`'s report of the running deployment (its JSON form), for
   * `GET /api/v1/admin/check`; set by `citadel serve`, absent elsewhere.
   */
  checkReport?: () => Promise<Record<string, unknown>>;
}

/** Per-request values set by middleware. */
export interface AppVariables {
  requestId: string;
  clientIp: string;
  secure: boolean;
  principal?: Principal;
  /** Set by a route whose answer is public and may be cached (the JWKS); see secureHeaders. */
  publicCache?: boolean;
  /**
   * The policies of an HTML page (a console page, the API reference): its
   * Content-Security-Policy (with its per-response nonce), which replaces the API's
   * `default-src 'none'`, and its Permissions-Policy; see secureHeaders.
   */
  pagePolicy?: { contentSecurityPolicy: string; permissionsPolicy: string };
  /** The console's session (cookie), when a console page is asked for by a signed-in user. */
  consoleSession?: ConsoleSession;
  /** The nonce of a console page's script and stylesheet. */
  nonce?: string;
}

/** The Hono environment of the app. */
export interface AppEnv {
  Variables: AppVariables;
  // deno-lint-ignore no-explicit-any
  Bindings: any;
}
