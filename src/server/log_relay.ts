/**
 * The log relay of `serve --workers N`: the supervisor owns stdout and the LOG_DIR file, and
 * the workers hand their lines to it.
 */
import type { Config } from "../config.ts";
import { createLogger, type Logger, type LogSink } from "../platform/logger.ts";
import { openLogSinks } from "./runtime.ts";

/** The supervisor's log sinks, shared by its own logger and the lines of its workers. */
export interface LogRelay {
  logger: Logger;
  /** Writes finished JSON lines from a worker, in order with the supervisor's own. */
  write(lines: string): void;
}

/**
 * Opens stdout and the LOG_DIR file once, for every isolate of `serve --workers N`: the
 * workers hand their batched lines over, so one process rotates the file and no two
 * writers interleave.
 */
export async function openLogRelay(config: Config): Promise<LogRelay> {
  const { sinks, warnings } = await openLogSinks(config);
  let chain: Promise<void> = Promise.resolve();
  const serial: LogSink = {
    write(lines) {
      chain = chain.then(async () => {
        for (const sink of sinks) {
          try {
            await sink.write(lines);
          } catch { /* a broken sink must not take requests down */ }
        }
      });
      return chain;
    },
    async close() {
      await chain;
      for (const sink of sinks) await sink.close?.();
    },
  };
  const logger = createLogger({ level: config.logLevel, sinks: [serial] });
  for (const warning of warnings) logger.warn(warning);
  return { logger, write: (lines) => void serial.write(lines) };
}
