/**
 * The log sink for Deno Deploy and Workers: each JSON line through console.log.
 */
import type { LogSink } from "./logger.ts";

/**
 * A sink writing each JSON line with console.log: the one output Deno Deploy and
 * Cloudflare Workers collect (Workers have no stdout; Deploy's log viewer reads console).
 */
export function consoleSink(): LogSink {
  return {
    write(lines) {
      for (const line of lines.split("\n")) if (line !== "") console.log(line);
    },
  };
}
