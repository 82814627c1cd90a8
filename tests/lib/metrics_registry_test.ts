/**
 * The Prometheus registry: counters, gauges and histograms written in the text exposition
 * format (label values escaped, cumulative buckets, +Inf), and several isolates' snapshots
 * merged (counters and histograms summed, gauges summed or the largest taken).
 */
import assert from "node:assert/strict";
import { exposition, mergeSnapshots, Registry } from "../../src/lib/metrics_registry.ts";

Deno.test("a snapshot is written in the text exposition format, label values escaped", () => {
  const registry = new Registry();
  const requests = registry.counter("x_requests_total", "Requests", ["route", "status"]);
  requests.inc(["/a", "200"]);
  requests.inc(["/a", "200"], 2);
  requests.inc(['/b"\\\n', "404"]);
  registry.gauge("x_depth", "Depth").set([], 7);
  const duration = registry.histogram("x_seconds", "Duration", ["route"], [0.1, 1]);
  duration.observe(["/a"], 0.05);
  duration.observe(["/a"], 0.1);
  duration.observe(["/a"], 0.5);
  duration.observe(["/a"], 3);
  assert.equal(
    exposition(registry.snapshot()),
    [
      "# HELP x_requests_total Requests",
      "# TYPE x_requests_total counter",
      'x_requests_total{route="/a",status="200"} 3',
      'x_requests_total{route="/b\\"\\\\\\n",status="404"} 1',
      "# HELP x_depth Depth",
      "# TYPE x_depth gauge",
      "x_depth 7",
      "# HELP x_seconds Duration",
      "# TYPE x_seconds histogram",
      'x_seconds_bucket{route="/a",le="0.1"} 2',
      'x_seconds_bucket{route="/a",le="1"} 3',
      'x_seconds_bucket{route="/a",le="+Inf"} 4',
      'x_seconds_sum{route="/a"} 3.65',
      'x_seconds_count{route="/a"} 4',
      "",
    ].join("\n"),
  );
});

Deno.test("a metric name is registered once", () => {
  const registry = new Registry();
  registry.counter("x_total", "X");
  assert.throws(() => registry.gauge("x_total", "X"), /registered twice/);
});

Deno.test("workers' snapshots merge: counters and histograms add up, gauges by their rule", () => {
  const workers = [0, 1].map((i) => {
    const registry = new Registry();
    registry.counter("c_total", "C", ["k"]).inc(["a"], 1 + i);
    if (i === 1) registry.counter("c_total_only", "D").inc();
    registry.gauge("heap", "H").set([], 10);
    registry.gauge("rss", "R", [], "max").set([], 100 + i);
    registry.histogram("h", "H", [], [1]).observe([], i === 0 ? 0.5 : 2);
    return registry.snapshot();
  });
  const text = exposition(mergeSnapshots(workers));
  assert.match(text, /^c_total\{k="a"\} 3$/m);
  assert.match(text, /^c_total_only 1$/m);
  assert.match(text, /^heap 20$/m);
  assert.match(text, /^rss 101$/m);
  assert.match(text, /^h_bucket\{le="1"\} 1$/m);
  assert.match(text, /^h_bucket\{le="\+Inf"\} 2$/m);
  assert.match(text, /^h_count 2$/m);
  // Merging copies: the workers' own snapshots are unchanged.
  assert.equal(workers[0][0].series[0].value, 1);
});
