/**
 * One scrape of `serve --workers N` sees every isolate: the worker that gets `GET /metrics`
 * asks the supervisor, which asks each worker for its snapshot, adds its own (the email
 * sender runs in the supervisor) and answers them merged (lib/metrics_registry.ts: counters and
 * histograms summed, each gauge by its rule). A worker that does not answer in time is left
 * out rather than holding the scrape.
 */
import { mergeSnapshots, type MetricSnapshot } from "../lib/metrics_registry.ts";
import type { ToWorker } from "./worker_messages.ts";

/** How long the supervisor waits for a worker's snapshot. */
const COLLECT_TIMEOUT_MS = 2_000;

/** The supervisor's side: collects and merges. */
export function createMetricsGatherer(own?: () => Promise<MetricSnapshot[]>) {
  const pending = new Map<number, (snapshot: MetricSnapshot[]) => void>();
  let next = 0;

  function collectFrom(worker: Worker): Promise<MetricSnapshot[] | undefined> {
    const request = ++next;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(request);
        resolve(undefined);
      }, COLLECT_TIMEOUT_MS);
      pending.set(request, (snapshot) => {
        clearTimeout(timer);
        pending.delete(request);
        resolve(snapshot);
      });
      worker.postMessage({ type: "metrics-collect", request } satisfies ToWorker);
    });
  }

  return {
    /** Every worker's snapshot and the supervisor's own, merged. */
    async gather(workers: readonly Worker[]): Promise<MetricSnapshot[]> {
      const snapshots = await Promise.all([...workers.map(collectFrom), own?.()]);
      return mergeSnapshots(snapshots.filter((s): s is MetricSnapshot[] => s !== undefined));
    },
    /** A worker's answer to a collect. */
    answered(request: number, snapshot: MetricSnapshot[]): void {
      pending.get(request)?.(snapshot);
    },
  };
}

/** The supervisor's gatherer. */
export type MetricsGatherer = ReturnType<typeof createMetricsGatherer>;
