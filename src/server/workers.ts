/**
 * `serve --workers N`: how many isolates to run, and starting them on one port with
 * SO_REUSEPORT.
 */
import type { Config } from "../config.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import type { Listener } from "./listen.ts";
import type { MetricSnapshot } from "../lib/metrics_registry.ts";
import type { LogRelay } from "./log_relay.ts";
import { createMetricsGatherer, type MetricsGatherer } from "./worker_metrics.ts";
import type { FromWorker, ToWorker } from "./worker_messages.ts";

/** How many isolates `serve` runs, with the configuration they run with. */
export interface WorkerPlan {
  count: number;
  config: Config;
  /** Why the plan differs from what was asked, for the log. */
  notes: string[];
}

const MAX_WORKERS = 256;
const START_TIMEOUT_MS = 30_000;

function isSharedDatabase(url: string): boolean {
  return !(url === ":memory:" || url === "file::memory:" || url.includes("mode=memory"));
}

/**
 * Resolves `--workers` (else WORKERS; 0 means one per CPU) into a plan. Several workers
 * need Linux (SO_REUSEPORT) and a database they can all open. An automatic count with
 * PORT=0 (tests, throwaway servers) stays at 1. The in-memory counter store is per
 * isolate, so with several workers counters move to the database store, which every
 * worker shares: the login guard and rate limits stay exact across them.
 */
export function planWorkers(config: Config, flag: string | undefined): WorkerPlan {
  let requested = config.workers;
  if (flag !== undefined) {
    requested = Number(flag);
    if (flag.trim() === "" || !Number.isInteger(requested) || requested < 0) {
      throw new ExitError(
        EXIT_USAGE,
        `citadel serve: --workers must be a whole number from 0 to ${MAX_WORKERS}`,
      );
    }
  }
  const automatic = requested === 0;
  const cpus = navigator.hardwareConcurrency || 1;
  const count = Math.min(MAX_WORKERS, automatic ? cpus : requested);
  const notes: string[] = [];
  const single = (note: string): WorkerPlan => {
    if (count > 1) notes.push(note);
    return { count: 1, config, notes };
  };
  if (count <= 1) return { count: 1, config, notes };
  if (automatic && config.port === 0) {
    return single("PORT=0 picks a random port: serving with 1 worker (set --workers to run more)");
  }
  if (Deno.build.os !== "linux") {
    return single(
      `several workers need SO_REUSEPORT (Linux): serving with 1 worker on ${Deno.build.os}`,
    );
  }
  if (!isSharedDatabase(config.databaseUrl)) {
    return single("an in-memory database cannot be shared by workers: serving with 1 worker");
  }
  if (config.rateLimit.store !== "memory") return { count, config, notes };
  notes.push(
    `counter store: database, not the configured RATE_LIMIT_STORE=memory, which is per isolate: the ${count} workers share their counters through the database store instead, so rate-limit and login-guard counters now also survive restarts`,
  );
  return {
    count,
    config: { ...config, rateLimit: { ...config.rateLimit, store: "database" } },
    notes,
  };
}

interface Slot {
  id: number;
  worker: Worker;
  stopped: Promise<void>;
}

interface Pool {
  config: Config;
  workers: number;
  relay: LogRelay;
  /** Runs `citadel check` for a worker's `GET /api/v1/admin/check`. */
  checkReport?: () => Promise<Record<string, unknown>>;
  /** Every worker's metrics and the supervisor's, for a worker's `GET /metrics`. */
  metrics: MetricsGatherer;
  /** The workers started so far. */
  slots: Slot[];
}

function spawn(id: number, port: number, pool: Pool): Promise<{ slot: Slot; port: number }> {
  const { config, workers, relay, checkReport, metrics } = pool;
  const worker = new Worker(new URL("./serve_worker.ts", import.meta.url).href, {
    type: "module",
    name: `citadel-worker-${id}`,
  });
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => markStopped = resolve);
  let listening = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail("no answer in time"), START_TIMEOUT_MS);
    function fail(message: string) {
      clearTimeout(timer);
      worker.terminate();
      markStopped();
      reject(new Error(`worker ${id} failed to start: ${message}`));
    }
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.type === "log") relay.write(message.lines);
      else if (message.type === "listening") {
        listening = true;
        clearTimeout(timer);
        resolve({ slot: { id, worker, stopped }, port: message.port });
      } else if (message.type === "failed") fail(message.message);
      else if (message.type === "stopped") markStopped();
      else if (message.type === "metrics-snapshot") {
        metrics.answered(message.request, message.snapshot);
      } else if (message.type === "metrics") {
        void metrics.gather(pool.slots.map((slot) => slot.worker)).then((snapshot) =>
          worker.postMessage(
            { type: "metrics-report", request: message.request, snapshot } satisfies ToWorker,
          )
        );
      } else if (message.type === "check") {
        // The audit runs here, in the supervisor, which may read the host like the CLI.
        const answer = (reply: Omit<Extract<ToWorker, { type: "check-report" }>, "type">) =>
          worker.postMessage({ type: "check-report", ...reply } satisfies ToWorker);
        if (!checkReport) answer({ request: message.request, error: "not available" });
        else {
          checkReport().then(
            (report) => answer({ request: message.request, report }),
            (error) => answer({ request: message.request, error: String(error?.message ?? error) }),
          );
        }
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      if (!listening) return fail(event.message);
      // As an uncaught error ends a single-isolate server, a crashed worker ends the
      // process, and the service manager restarts it with every worker.
      relay.logger.error("worker crashed; exiting", { worker: id, error: event.message });
      void relay.logger.flush().finally(() => Deno.exit(1));
    };
    worker.postMessage({ type: "start", id, config, port, workers } satisfies ToWorker);
  });
}

/**
 * Starts `count` workers that each build their own deps (database connection, counter
 * store, services) and accept on one port with SO_REUSEPORT. The first one binds
 * (picking the port when PORT=0), the others join it. Resolves once all listen.
 */
export async function startWorkers(
  config: Config,
  count: number,
  relay: LogRelay,
  checkReport?: () => Promise<Record<string, unknown>>,
  ownMetrics?: () => Promise<MetricSnapshot[]>,
): Promise<Listener> {
  const slots: Slot[] = [];
  const stopAll = async (graceMs: number) => {
    for (const slot of slots) slot.worker.postMessage({ type: "stop", graceMs } satisfies ToWorker);
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs + 5_000));
    await Promise.race([Promise.all(slots.map((slot) => slot.stopped)), deadline]);
    for (const slot of slots) slot.worker.terminate();
  };
  try {
    // A fixed port lets all start at once; PORT=0 needs the first one's pick.
    const metrics = createMetricsGatherer(ownMetrics);
    const pool = { config, workers: count, relay, checkReport, metrics, slots };
    const firstStarting = spawn(1, config.port, pool);
    const port = config.port || (await firstStarting).port;
    const started = await Promise.allSettled([
      firstStarting,
      ...Array.from({ length: count - 1 }, (_, i) => spawn(i + 2, port, pool)),
    ]);
    for (const result of started) if (result.status === "fulfilled") slots.push(result.value.slot);
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    const scheme = config.tls.certFile ? "https" : "http";
    relay.logger.info("listening", {
      url: `${scheme}://${config.host}:${port}`,
      port,
      workers: count,
    });
    return { port, stop: stopAll };
  } catch (error) {
    await stopAll(0);
    throw error;
  }
}
