/**
 * The messages between the supervisor of `citadel serve --workers N` (workers.ts) and
 * each worker isolate (serve_worker.ts). They live apart from both so that neither
 * module imports the other: the supervisor names the worker only by URL.
 */
import type { Config } from "../config.ts";
import type { MetricSnapshot } from "../lib/metrics_registry.ts";

/** Supervisor -> worker. */
export type ToWorker =
  | { type: "start"; id: number; config: Config; port: number; workers: number }
  | { type: "stop"; graceMs: number }
  | { type: "check-report"; request: number; report?: Record<string, unknown>; error?: string }
  /** Asks for this worker's own metrics (worker_metrics.ts). */
  | { type: "metrics-collect"; request: number }
  /** Every isolate's metrics merged, for the worker's scrape. */
  | { type: "metrics-report"; request: number; snapshot: MetricSnapshot[] };

/** Worker -> supervisor. */
export type FromWorker =
  | { type: "log"; lines: string }
  | { type: "listening"; port: number }
  | { type: "failed"; message: string }
  | { type: "stopped" }
  | { type: "check"; request: number }
  /** A scrape reached this worker: it wants every isolate's metrics. */
  | { type: "metrics"; request: number }
  /** This worker's own metrics, for the supervisor's collect. */
  | { type: "metrics-snapshot"; request: number; snapshot: MetricSnapshot[] };
