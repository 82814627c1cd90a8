/**
 * Helpers for the metrics recording tests: a test app whose Metrics instance the test holds
 * (and hands to what the app does not build, such as the email sender), scrapes of its real
 * `GET /metrics` read into series values, and the changes of chosen metrics between scrapes.
 */
import assert from "node:assert/strict";
import { createApp } from "../../src/app.ts";
import { Metrics } from "../../src/platform/metrics.ts";
import { buildTestApp, request, type TestApp } from "./helpers.ts";

/** A test app built on a Metrics instance of its own, in `t.deps.metrics`. */
export interface MeteredApp extends TestApp {
  metrics: Metrics;
}

/** {@linkcode buildTestApp} with its app rebuilt on a Metrics instance the test can reach. */
export async function meteredApp(
  env: Record<string, string> = {},
  options: Parameters<typeof buildTestApp>[1] = {},
): Promise<MeteredApp> {
  return metered(await buildTestApp(env, options));
}

/** Rebuilds `t`'s app on a fresh Metrics instance (for apps built by other helpers). */
export function metered(t: TestApp): MeteredApp {
  const metrics = new Metrics({ version: "test", runtime: "test" });
  t.deps.metrics = metrics;
  t.app = createApp(t.deps);
  return Object.assign(t, { metrics });
}

/** Every sample of a scrape of the app's `GET /metrics` (from loopback), by series. */
export async function scrape(t: TestApp): Promise<Map<string, number>> {
  const res = await request(t.app, "GET", "/metrics");
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/**
 * Watches the series of the metrics named in `names`: `changes()` answers how each moved since
 * the previous call (only those that moved), so a test asserts exactly what one action recorded.
 */
export async function watch(t: TestApp, names: readonly string[]) {
  const pick = (samples: Map<string, number>) =>
    new Map(
      [...samples].filter(([series]) => names.some((n) => series.split("{")[0] === n)),
    );
  let last = pick(await scrape(t));
  return {
    async changes(): Promise<Record<string, number>> {
      const now = pick(await scrape(t));
      const moved: Record<string, number> = {};
      for (const [series, value] of now) {
        const change = value - (last.get(series) ?? 0);
        if (change !== 0) moved[series] = change;
      }
      last = now;
      return moved;
    },
  };
}
