/**
 * Load generation for `deno task bench`: wrk when it is installed (with Lua scripts for
 * POST bodies and the refresh-token chain), otherwise autocannon through npx for plain
 * requests and a small closed-loop fetch driver for the scenarios wrk drives with Lua.
 * @module
 */

/** One load run's outcome. */
export interface LoadResult {
  tool: string;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses outside 2xx (wrk counts 3xx as success; no benchmarked route redirects). */
  non2xx: number;
  /** Connect, read, write and timeout errors. */
  socketErrors: number;
}

/** What to drive. `lua` (wrk) and `fallback` (everything else) describe the same load. */
export interface LoadSpec {
  url: string;
  seconds: number;
  connections: number;
  headers?: Record<string, string>;
  /** A wrk Lua script and the environment it reads. */
  lua?: { script: string; env?: Record<string, string> };
  /** Drives the scenario without wrk when it needs more than a fixed request. */
  fallback?: (spec: LoadSpec) => Promise<LoadResult>;
  /** `taskset -c <cpu>` for the load generator, when taskset exists. */
  cpu?: string;
}

/** Whether a command is on PATH. */
export async function hasCommand(name: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", `command -v ${name}`] }).output();
    return out.success;
  } catch {
    return false;
  }
}

function pinned(command: string, args: string[], cpu: string | undefined): [string, string[]] {
  return cpu === undefined ? [command, args] : ["taskset", ["-c", cpu, command, ...args]];
}

/** wrk prints `564.00us`, `4.09ms`, `1.20s`. */
function wrkMillis(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n;
}

/** Parses wrk's `--latency` report. */
export function parseWrk(text: string): LoadResult {
  const latency = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
    if (!m) throw new Error(`wrk printed no ${p}% latency:\n${text}`);
    return wrkMillis(m[1], m[2]);
  };
  const requests = /(\d+) requests in/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!requests || !rps) throw new Error(`wrk printed no totals:\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    tool: "wrk",
    requests: Number(requests[1]),
    rps: Number(rps[1]),
    p50Ms: latency("50"),
    p99Ms: latency("99"),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const args = ["-t1", `-c${spec.connections}`, `-d${spec.seconds}s`, "--latency"];
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    args.push("-H", `${name}: ${value}`);
  }
  if (spec.lua) args.push("-s", spec.lua.script);
  args.push(spec.url);
  const [command, full] = pinned("wrk", args, spec.cpu);
  const out = await new Deno.Command(command, {
    args: full,
    env: spec.lua?.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`wrk failed:\n${text}`);
  const result = parseWrk(text);
  // The Lua scripts print their own count of non-2xx responses.
  const scripted = /^non2xx (\d+)$/m.exec(text);
  if (scripted) result.non2xx = Math.max(result.non2xx, Number(scripted[1]));
  return result;
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const args = [
    "-y",
    "autocannon",
    "--json",
    "-c",
    String(spec.connections),
    "-d",
    String(spec.seconds),
  ];
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    args.push("-H", `${name}=${value}`);
  }
  args.push(spec.url);
  const [command, full] = pinned("npx", args, spec.cpu);
  const out = await new Deno.Command(command, { args: full, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`autocannon failed:\n${new TextDecoder().decode(out.stderr)}`);
  const report = JSON.parse(text);
  return {
    tool: "autocannon",
    requests: report.requests.total,
    rps: report.requests.average,
    p50Ms: report.latency.p50,
    p99Ms: report.latency.p99,
    non2xx: report.non2xx,
    socketErrors: report.errors + report.timeouts,
  };
}

let wrkAvailable: boolean | undefined;

/** Drives one load run with wrk, else the scenario's fallback or autocannon. */
export async function drive(spec: LoadSpec): Promise<LoadResult> {
  wrkAvailable ??= await hasCommand("wrk");
  if (wrkAvailable) return await runWrk(spec);
  if (spec.fallback) return await spec.fallback(spec);
  return await runAutocannon(spec);
}

/** The load generator in use, for the report. */
export async function loadTool(): Promise<string> {
  wrkAvailable ??= await hasCommand("wrk");
  return wrkAvailable ? "wrk" : "autocannon (npx) + fetch driver";
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * A closed-loop fetch driver: `connections` loops, each sending its next request when
 * the previous one finished. `next(loop)` builds loop `loop`'s next request, `onResponse`
 * sees every answer (e.g. to take the rotated refresh token).
 */
export async function fetchLoop(
  spec: LoadSpec,
  next: (loop: number) => Request,
  onResponse?: (loop: number, response: Response, body: string) => void,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const stopAt = performance.now() + spec.seconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: spec.connections }, async (_, loop) => {
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      try {
        const response = await fetch(next(loop));
        const body = await response.text();
        latencies.push(performance.now() - t0);
        if (response.status < 200 || response.status > 299) non2xx++;
        onResponse?.(loop, response, body);
      } catch {
        errors++;
      }
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    tool: "fetch",
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    non2xx,
    socketErrors: errors,
  };
}
