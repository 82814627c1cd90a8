/**
 * The binary's deps: database, native hasher, counter store, logger with its sinks and
 * alerter, built from the config for `serve` and the commands, and released after.
 */
import type { AppDeps } from "../app_types.ts";
import type { Config } from "../config.ts";
import { connect } from "../db/connect.ts";
import { nativeArgon2 } from "../platform/argon2_native.ts";
import { boundedHasher } from "../platform/bounded_hasher.ts";
import { systemClock } from "../platform/clock.ts";
import { createCounterStore } from "../platform/counter_store_factory.ts";
import { openLogFileSink } from "../platform/log_file_sink.ts";
import { createLogger, type Logger, type LogSink, stdoutSink } from "../platform/logger.ts";
import type { Metrics } from "../platform/metrics.ts";
import { createAlerter } from "../services/alerts.ts";
import { applyMigrations } from "../services/apply_migrations.ts";
import { VERSION } from "../version.ts";

/** The deps of a CLI process and how to release them. */
export interface Runtime {
  deps: AppDeps;
  close(): Promise<void>;
}

/** Options of {@linkcode openRuntime}. */
export interface RuntimeOptions {
  migrate: boolean;
  logger?: Logger;
  /** argon2 hashes computed at once; default: the CPUs this process may use. */
  hashThreads?: number;
  /**
   * The serving isolate's metrics: the database's statements are timed into its query
   * histogram from the first one, and the deps carry it. Commands leave it unset.
   */
  metrics?: Metrics;
}

/** stdout and, with LOG_DIR, the rotating file; plus what opening the file fixed, to log. */
export async function openLogSinks(
  config: Config,
): Promise<{ sinks: LogSink[]; warnings: string[] }> {
  const sinks: LogSink[] = [stdoutSink()];
  const file = config.logDir
    ? await openLogFileSink({
      dir: config.logDir,
      maxBytes: config.logMaxBytes,
      backups: config.logBackups,
    })
    : undefined;
  if (file) sinks.push(file);
  return { sinks, warnings: file?.warnings ?? [] };
}

async function openLogger(config: Config): Promise<Logger> {
  const { sinks, warnings } = await openLogSinks(config);
  const logger = createLogger({ level: config.logLevel, sinks });
  for (const warning of warnings) logger.warn(warning);
  return logger;
}

/**
 * Builds the binary's deps: libSQL file/remote database, native argon2 (at most one
 * hash per CPU at once), the configured counter store, stdout (+ LOG_DIR file) logger
 * and the alerter. Applied migrations are audited.
 */
export async function openRuntime(config: Config, options: RuntimeOptions): Promise<Runtime> {
  const logger = options.logger ?? await openLogger(config);
  const clock = systemClock;
  const { metrics } = options;
  const { db } = await connect(
    metrics ? { ...config, onQuery: (ms) => metrics.queryDuration.observe([], ms / 1000) } : config,
  );
  if (options.migrate) await applyMigrations({ db, clock, logger });
  const alerts = createAlerter({
    logger,
    clock,
    webhookUrl: config.alerts.webhookUrl,
    webhookSecret: config.alerts.webhookSecret,
  });
  const hasher = boundedHasher(
    nativeArgon2(config.argon2),
    options.hashThreads ?? (navigator.hardwareConcurrency || 1),
  );
  const deps: AppDeps = {
    config,
    db,
    clock,
    hasher,
    counters: createCounterStore(config, { db, clock }),
    logger,
    alerts,
    version: VERSION,
    metrics,
  };
  return {
    deps,
    async close() {
      await alerts.close(5_000);
      await deps.counters.close();
      await logger.close();
      await db.destroy();
    },
  };
}
