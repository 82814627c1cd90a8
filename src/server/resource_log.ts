/**
 * The resource log of a serving process: every RESOURCE_LOG_INTERVAL seconds one INFO line
 * `resources` with its memory, event-loop lag, open sessions and email outbox depth, so a log
 * reader sees what a dashboard would without scraping `/metrics`.
 */
import type { Db } from "../db/schema.ts";
import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/logger.ts";
import type { Metrics } from "../platform/metrics.ts";
import { outboxDepth } from "../services/email_outbox.ts";
import { countOpenSessions } from "../services/sessions.ts";

/** What {@linkcode startResourceLog} reads. */
export interface ResourceLogOptions {
  /** Seconds between lines (RESOURCE_LOG_INTERVAL); 0 writes none. */
  intervalSeconds: number;
  db: Db;
  clock: Clock;
  logger: Logger;
  /** The event-loop lag, sampled by `metrics.startLagSampler()` (started by `serve`). */
  metrics: Pick<Metrics, "eventLoopLagP99">;
}

/** The fields of one `resources` line. */
export interface ResourceReport {
  rss_bytes: number;
  heap_used_bytes: number;
  heap_total_bytes: number;
  event_loop_lag_p99_ms: number;
  /** Sessions neither revoked nor expired; null when the database did not answer. */
  open_sessions: number | null;
  /** Messages neither sent nor given up; null when the database did not answer. */
  outbox_depth: number | null;
  /** Why the counts are null. */
  error?: string;
}

/**
 * One report now. Memory is the process's resident set and this isolate's heap (with
 * `--workers`, the supervisor's: the workers' heaps are in `/metrics`). A database that does not
 * answer leaves the counts null and says why, rather than losing the line.
 */
export async function resourceReport(
  options: Omit<ResourceLogOptions, "intervalSeconds" | "logger">,
): Promise<ResourceReport> {
  const memory = Deno.memoryUsage();
  const lagMs = Math.round(options.metrics.eventLoopLagP99() * 1000 * 10) / 10;
  const report: ResourceReport = {
    rss_bytes: memory.rss,
    heap_used_bytes: memory.heapUsed,
    heap_total_bytes: memory.heapTotal,
    event_loop_lag_p99_ms: lagMs,
    open_sessions: null,
    outbox_depth: null,
  };
  try {
    [report.open_sessions, report.outbox_depth] = await Promise.all([
      countOpenSessions(options.db, options.clock.now()),
      outboxDepth(options.db),
    ]);
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error);
  }
  return report;
}

/** A started resource log; `stop` waits for a line being gathered. */
export interface ResourceLog {
  stop(): Promise<void>;
}

/**
 * Writes a `resources` line every `intervalSeconds` (the first after one interval), one at a
 * time, on a timer that does not keep the process alive. With 0 it does nothing.
 */
export function startResourceLog(options: ResourceLogOptions): ResourceLog {
  if (options.intervalSeconds <= 0) return { stop: () => Promise.resolve() };
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= resourceReport(options)
      .then((report) => options.logger.info("resources", { ...report }))
      .catch((error) => options.logger.error("resource log failed", { error }))
      .finally(() => running = undefined);
  }, options.intervalSeconds * 1000);
  Deno.unrefTimer(timer);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
