/**
 * One isolate of `citadel serve --workers N`: builds its own deps (database connection,
 * counter store, services, app) from the supervisor's configuration and accepts on the
 * shared port with SO_REUSEPORT. Its log lines go to the supervisor, tagged `worker`.
 */
import { createApp } from "../app.ts";
import type { Config } from "../config.ts";
import { createLogger, type LogSink } from "../platform/logger.ts";
import { Metrics } from "../platform/metrics.ts";
import { runtimeName } from "../platform/runtime_name.ts";
import { VERSION } from "../version.ts";
import { listen, type Listener } from "./listen.ts";
import { openRuntime, type Runtime } from "./runtime.ts";
import { warmUpInBackground } from "./warm_up.ts";
import type { FromWorker, ToWorker } from "./worker_messages.ts";

const scope = self as unknown as {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  close(): void;
};

let runtime: Runtime | undefined;
/** Questions to the supervisor waiting for its answer, by request number. */
const asked = new Map<number, (answer: { value?: unknown; error?: string }) => void>();
let nextRequest = 0;

/** Asks the supervisor (`check`, `metrics`) and waits for its answer, at most `timeoutMs`. */
function askSupervisor<T>(type: "check" | "metrics", timeoutMs: number): Promise<T> {
  const request = ++nextRequest;
  return new Promise((resolve, reject) => {
    // A supervisor that is stopping may never answer.
    const timer = setTimeout(() => {
      asked.get(request)?.({ error: "the supervisor did not answer" });
    }, timeoutMs);
    asked.set(request, ({ value, error }) => {
      clearTimeout(timer);
      asked.delete(request);
      if (value !== undefined) resolve(value as T);
      else reject(new Error(error));
    });
    scope.postMessage({ type, request });
  });
}

let listener: Listener | undefined;

/** Hands batches to the supervisor with `"worker":id` appended to each JSON line. */
function supervisorSink(id: number): LogSink {
  const tail = `,"worker":${id}}`;
  return {
    write(lines) {
      const tagged = lines.split("\n").map((line) =>
        line.endsWith("}") ? line.slice(0, -1) + tail : line
      );
      scope.postMessage({ type: "log", lines: tagged.join("\n") });
    },
  };
}

async function start(id: number, config: Config, port: number, workers: number) {
  const logger = createLogger({ level: config.logLevel, sinks: [supervisorSink(id)] });
  // The workers share the CPUs for hashing, as one process would.
  const hashThreads = Math.ceil((navigator.hardwareConcurrency || 1) / workers);
  runtime = await openRuntime(config, { migrate: false, logger, hashThreads });
  // `citadel check` runs in the supervisor (a worker does not audit the host), and a scrape
  // answers every isolate's metrics, merged there.
  runtime.deps.checkReport = () => askSupervisor("check", 30_000);
  runtime.deps.metrics ??= new Metrics({ version: VERSION, runtime: runtimeName() });
  runtime.deps.metricsSnapshot = () => askSupervisor("metrics", 5_000);
  listener = await listen(config, createApp(runtime.deps), {
    port,
    reusePort: true,
    onListen: ({ port }) => logger.info("worker listening", { port }),
  });
  warmUpInBackground(runtime.deps.hasher, logger);
  // Its own lines first, so the supervisor's "listening" comes after every worker's.
  await logger.flush();
  scope.postMessage({ type: "listening", port: listener.port });
}

async function stop(graceMs: number): Promise<void> {
  await listener?.stop(graceMs);
  await runtime?.close();
  scope.postMessage({ type: "stopped" });
  scope.close();
}

scope.onmessage = (event) => {
  const message = event.data;
  if (message.type === "check-report") {
    asked.get(message.request)?.({ value: message.report, error: message.error });
    return;
  }
  if (message.type === "metrics-report") {
    asked.get(message.request)?.({ value: message.snapshot });
    return;
  }
  if (message.type === "metrics-collect") {
    const own = runtime?.deps.metrics?.snapshot() ?? Promise.resolve([]);
    void own.then((snapshot) =>
      scope.postMessage({ type: "metrics-snapshot", request: message.request, snapshot })
    );
    return;
  }
  if (message.type === "start") {
    start(message.id, message.config, message.port, message.workers).catch((error) => {
      scope.postMessage({
        type: "failed",
        message: error instanceof Error ? error.message : String(error),
      });
    });
  } else if (message.type === "stop") {
    void stop(message.graceMs);
  }
};
