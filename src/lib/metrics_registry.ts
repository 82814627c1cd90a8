/**
 * A small Prometheus registry: counters, gauges and histograms with fixed label names, their
 * values as a plain snapshot (what the workers of `serve --workers N` send to the supervisor),
 * snapshots merged (counters and histograms summed, gauges summed or the largest taken), and a
 * snapshot written in the text exposition format 0.0.4. Recording is a Map lookup and an
 * addition, so the request path pays next to nothing. No I/O: gauges read at scrape time are
 * set by their owner's collector before the snapshot is taken.
 */

/** How a gauge of several workers becomes one value: the sum (heap) or the largest (RSS). */
export type GaugeMerge = "sum" | "max";

/** One series of a snapshot: its label values (in the metric's label order) and its value. */
export interface SeriesSnapshot {
  labels: string[];
  /** A counter's or gauge's value. */
  value?: number;
  /** A histogram's per-bucket counts (not cumulative), its sum and its count. */
  buckets?: number[];
  sum?: number;
  count?: number;
}

/** One metric of a snapshot. */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  labelNames: string[];
  /** Upper bounds of a histogram's buckets, ascending (+Inf implied). */
  bounds?: number[];
  merge?: GaugeMerge;
  series: SeriesSnapshot[];
}

const SEPARATOR = "\u0000";

abstract class Metric {
  protected readonly series = new Map<string, SeriesSnapshot>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected entry(values: readonly string[]): SeriesSnapshot {
    const key = values.length === 1 ? values[0] : values.join(SEPARATOR);
    let entry = this.series.get(key);
    if (!entry) {
      entry = this.fresh([...values]);
      this.series.set(key, entry);
    }
    return entry;
  }

  protected abstract fresh(labels: string[]): SeriesSnapshot;
  abstract snapshot(): MetricSnapshot;

  protected copies(): SeriesSnapshot[] {
    return [...this.series.values()].map((s) => ({ ...s, buckets: s.buckets && [...s.buckets] }));
  }
}

/** A value that only goes up (requests, logins). */
export class Counter extends Metric {
  /** Adds `by` (default 1) to the series of these label values (in label-name order). */
  inc(values: readonly string[] = [], by = 1): void {
    this.entry(values).value! += by;
  }

  protected fresh(labels: string[]): SeriesSnapshot {
    return { labels, value: 0 };
  }

  snapshot(): MetricSnapshot {
    const { name, help } = this;
    return { name, help, type: "counter", labelNames: [...this.labelNames], series: this.copies() };
  }
}

/** A value that goes up and down (memory, queue depth). */
export class Gauge extends Metric {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly merge: GaugeMerge,
  ) {
    super(name, help, labelNames);
  }

  /** Sets the series of these label values. */
  set(values: readonly string[], value: number): void {
    this.entry(values).value = value;
  }

  protected fresh(labels: string[]): SeriesSnapshot {
    return { labels, value: 0 };
  }

  snapshot(): MetricSnapshot {
    const { name, help, merge } = this;
    return {
      name,
      help,
      type: "gauge",
      labelNames: [...this.labelNames],
      merge,
      series: this.copies(),
    };
  }
}

/** Observations counted into fixed buckets (durations). */
export class Histogram extends Metric {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly bounds: number[],
  ) {
    super(name, help, labelNames);
  }

  /** Counts one observation of `value` in the series of these label values. */
  observe(values: readonly string[], value: number): void {
    const entry = this.entry(values);
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    entry.buckets![i]++;
    entry.sum! += value;
    entry.count!++;
  }

  protected fresh(labels: string[]): SeriesSnapshot {
    return { labels, buckets: new Array(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }

  snapshot(): MetricSnapshot {
    const { name, help, bounds } = this;
    return {
      name,
      help,
      type: "histogram",
      labelNames: [...this.labelNames],
      bounds: [...bounds],
      series: this.copies(),
    };
  }
}

/** The metrics of one isolate, in registration order. */
export class Registry {
  readonly #metrics: Metric[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = [], merge: GaugeMerge = "sum") {
    return this.#add(new Gauge(name, help, labelNames, merge));
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: number[]) {
    return this.#add(new Histogram(name, help, labelNames, bounds));
  }

  /** Every metric's current values. */
  snapshot(): MetricSnapshot[] {
    return this.#metrics.map((metric) => metric.snapshot());
  }

  #add<M extends Metric>(metric: M): M {
    if (this.#metrics.some((m) => m.name === metric.name)) {
      throw new Error(`metric ${metric.name} is registered twice`);
    }
    this.#metrics.push(metric);
    return metric;
  }
}

/** Snapshots of several isolates as one: series matched by metric name and label values. */
export function mergeSnapshots(snapshots: MetricSnapshot[][]): MetricSnapshot[] {
  const merged = new Map<string, { metric: MetricSnapshot; series: Map<string, SeriesSnapshot> }>();
  for (const snapshot of snapshots) {
    for (const metric of snapshot) {
      const into = merged.get(metric.name) ??
        merged.set(metric.name, { metric: { ...metric, series: [] }, series: new Map() })
          .get(metric.name)!;
      for (const series of metric.series) {
        const key = series.labels.join(SEPARATOR);
        const existing = into.series.get(key);
        if (!existing) {
          into.series.set(key, { ...series, buckets: series.buckets && [...series.buckets] });
        } else if (metric.type === "histogram") {
          series.buckets!.forEach((n, i) => existing.buckets![i] += n);
          existing.sum! += series.sum!;
          existing.count! += series.count!;
        } else if (metric.type === "gauge" && metric.merge === "max") {
          existing.value = Math.max(existing.value!, series.value!);
        } else {
          existing.value! += series.value!;
        }
      }
    }
  }
  return [...merged.values()].map(({ metric, series }) => ({
    ...metric,
    series: [...series.values()],
  }));
}

/** A label value as the exposition format quotes it. */
function quoted(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"')}"`;
}

function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const pairs = names.map((name, i) => `${name}=${quoted(values[i])}`);
  if (extra) pairs.push(extra);
  return pairs.length ? `{${pairs.join(",")}}` : "";
}

/** A number as the exposition format writes it. */
function numberText(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** The text exposition format (version 0.0.4) of a snapshot. */
export function exposition(snapshot: MetricSnapshot[]): string {
  const lines: string[] = [];
  for (const metric of snapshot) {
    lines.push(
      `# HELP ${metric.name} ${metric.help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`,
    );
    lines.push(`# TYPE ${metric.name} ${metric.type}`);
    for (const series of metric.series) {
      if (metric.type !== "histogram") {
        lines.push(
          `${metric.name}${labelText(metric.labelNames, series.labels)} ${
            numberText(series.value!)
          }`,
        );
        continue;
      }
      let cumulative = 0;
      const bounds = [...metric.bounds!.map(numberText), "+Inf"];
      bounds.forEach((bound, i) => {
        cumulative += series.buckets![i];
        const labels = labelText(metric.labelNames, series.labels, `le=${quoted(bound)}`);
        lines.push(`${metric.name}_bucket${labels} ${cumulative}`);
      });
      const labels = labelText(metric.labelNames, series.labels);
      lines.push(`${metric.name}_sum${labels} ${numberText(series.sum!)}`);
      lines.push(`${metric.name}_count${labels} ${series.count}`);
    }
  }
  return lines.join("\n") + "\n";
}
