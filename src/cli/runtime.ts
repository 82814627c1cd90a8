import type { AppDeps } from "../app_types.ts";
import type { Config } from "../config.ts";
import { connect } from "../db/connect.ts";
import { migrateUp } from "../db/migrator.ts";
import { nativeArgon2 } from "../platform/argon2_native.ts";
import { systemClock } from "../platform/clock.ts";
import { memoryCounterStore } from "../platform/counter_store_memory.ts";
import { createLogger, type Logger, stdoutSink } from "../platform/logger.ts";
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
}

/** Builds the binary's deps: libSQL file/remote database, native argon2, stdout logger. */
export async function openRuntime(config: Config, options: RuntimeOptions): Promise<Runtime> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, sinks: [stdoutSink()] });
  const { db } = await connect(config);
  if (options.migrate) {
    const applied = await migrateUp(db);
    for (const name of applied) logger.info("migration applied", { migration: name });
  }
  const deps: AppDeps = {
    config,
    db,
    clock: systemClock,
    hasher: nativeArgon2(config.argon2),
    counters: memoryCounterStore(systemClock),
    logger,
    version: VERSION,
  };
  return {
    deps,
    async close() {
      await deps.counters.close();
      await logger.close();
      await db.destroy();
    },
  };
}
