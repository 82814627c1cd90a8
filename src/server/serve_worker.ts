/**
 * One isolate of `citadel serve --workers N`: builds its own deps (database connection,
 * counter store, services, app) from the supervisor's configuration and accepts on the
 * shared port with SO_REUSEPORT. Its log lines go to the supervisor, tagged `worker`.
 */
import { createApp } from "../app.ts";
import type { Config } from "../config.ts";
import { createLogger, type LogSink } from "../platform/logger.ts";
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
const checkRequests = new Map<
  number,
  (answer: { report?: Record<string, unknown>; error?: string }) => void
>();
let nextCheckRequest = 0;

/** `citadel check` runs in the supervisor (a worker does not audit the host): ask it. */
function askSupervisorForCheck(): Promise<Record<string, unknown>> {
  const request = ++nextCheckRequest;
  return new Promise((resolve, reject) => {
    // A supervisor that is stopping may never answer.
    const timer = setTimeout(() => {
      checkRequests.get(request)?.({ error: "the supervisor did not answer" });
      checkRequests.delete(request);
    }, 30_000);
    checkRequests.set(request, ({ report, error }) => {
      clearTimeout(timer);
      if (report) resolve(report);
      else reject(new Error(error));
    });
    scope.postMessage({ type: "check", request });
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
  runtime.deps.checkReport = askSupervisorForCheck;
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
    checkRequests.get(message.request)?.(message);
    checkRequests.delete(message.request);
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
