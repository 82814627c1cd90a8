/**
 * The messages between the supervisor of `citadel serve --workers N` (workers.ts) and
 * each worker isolate (serve_worker.ts). They live apart from both so that neither
 * module imports the other: the supervisor names the worker only by URL.
 */
import type { Config } from "../config.ts";

/** Supervisor -> worker. */
export type ToWorker =
  | { type: "start"; id: number; config: Config; port: number; workers: number }
  | { type: "stop"; graceMs: number }
  | { type: "check-report"; request: number; report?: Record<string, unknown>; error?: string };

/** Worker -> supervisor. */
export type FromWorker =
  | { type: "log"; lines: string }
  | { type: "listening"; port: number }
  | { type: "failed"; message: string }
  | { type: "stopped" }
  | { type: "check"; request: number };
