/**
 * The deps of a one-off maintenance command: the binary's runtime, quiet enough that the
 * command's own output stays readable.
 */
import type { Config } from "../config.ts";
import { createLogger, stdoutSink } from "../platform/logger.ts";
import { openRuntime, type Runtime } from "../server/runtime.ts";

/**
 * Opens the deps for a one-off maintenance command: migrations applied as configured
 * (MIGRATE_ON_START), and only warnings logged so the command's own output stays readable.
 */
export function openCommandRuntime(config: Config): Promise<Runtime> {
  const logger = createLogger({ level: "warn", sinks: [stdoutSink()] });
  return openRuntime(config, { migrate: config.migrateOnStart, logger });
}
