/** The results table of `deno task bench`, as markdown, and the target verdicts. */
import type { LoadResult } from "./load.ts";

/** One scenario's rounds, summarised. */
export interface ScenarioResult {
  name: string;
  rounds: LoadResult[];
  /** Server CPU time (all threads) per request, per round, µs. */
  cpuUs: number[];
  /** Peak server RSS while it ran, MiB. */
  rssPeakMiB?: number;
  note?: string;
}

/** Everything measured besides the load runs. */
export interface RunFacts {
  date: string;
  machine: string;
  deno: string;
  tool: string;
  setup: string;
  hashMs: number;
  parallelHashesPerSecond: number;
  argon2Params: string;
  /** Cores the pinned server may use and the cores of the machine. */
  serverCores: number;
  machineCores: number;
  firstStartMs: number;
  warmStartMs: number;
  idleRssMiB?: number;
  idleRssAfterMiB?: number;
}

/** A pass/fail line of the targets section. */
export interface Verdict {
  target: string;
  measured: string;
  ok: boolean;
}

/** Median of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median of each metric over a scenario's rounds; counts are summed. */
export function summarise(s: ScenarioResult) {
  return {
    rps: median(s.rounds.map((r) => r.rps)),
    p50Ms: median(s.rounds.map((r) => r.p50Ms)),
    p99Ms: median(s.rounds.map((r) => r.p99Ms)),
    requests: s.rounds.reduce((n, r) => n + r.requests, 0),
    non2xx: s.rounds.reduce((n, r) => n + r.non2xx, 0),
    socketErrors: s.rounds.reduce((n, r) => n + r.socketErrors, 0),
    cpuUs: s.cpuUs.length > 0 ? median(s.cpuUs) : undefined,
  };
}

const fixed = (n: number | undefined, digits = 0) => n === undefined ? "-" : n.toFixed(digits);
const ms = (n: number) => n < 10 ? n.toFixed(2) : n.toFixed(1);

/** The markdown report: the table, the facts and the target verdicts. */
export function renderMarkdown(
  results: ScenarioResult[],
  baseline: ScenarioResult,
  facts: RunFacts,
  verdicts: Verdict[],
): string {
  const base = summarise(baseline).rps;
  const rows = results.map((s) => {
    const m = summarise(s);
    return `| ${s.name} | ${fixed(m.rps)} | ${(m.rps / base).toFixed(3)} | ${ms(m.p50Ms)} | ${
      ms(m.p99Ms)
    } | ${m.non2xx} | ${m.socketErrors} | ${fixed(m.cpuUs, 1)} | ${fixed(s.rssPeakMiB, 1)} | ${
      s.note ?? ""
    } |`;
  });
  const ceilingPinned = (1000 / facts.hashMs) * facts.serverCores;
  const ceilingAll = (1000 / facts.hashMs) * facts.machineCores;
  return [
    `### Benchmark results (${facts.date})`,
    "",
    `${facts.machine}; Deno ${facts.deno}; load: ${facts.tool}. ${facts.setup}`,
    "",
    "| scenario | req/s | vs bare Hono | p50 ms | p99 ms | non-2xx | socket errors | server CPU µs/req | server RSS peak MiB | notes |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows,
    "",
    `- argon2id ${facts.argon2Params}: one verification takes ${
      facts.hashMs.toFixed(1)
    } ms on the server's core, so logins can reach at most ${
      ceilingPinned.toFixed(0)
    }/s on ${facts.serverCores} core(s); with one verification per core side by side all ${facts.machineCores} cores managed ${
      facts.parallelHashesPerSecond.toFixed(0)
    }/s (${ceilingAll.toFixed(0)}/s if they scaled perfectly).`,
    `- Start to first healthy response: ${
      fixed(facts.warmStartMs)
    } ms (warm module cache, existing database); first start on a new database (migrations, super admin hash): ${
      fixed(facts.firstStartMs)
    } ms.`,
    `- Server RSS idle: ${fixed(facts.idleRssMiB, 1)} MiB after start, ${
      fixed(facts.idleRssAfterMiB, 1)
    } MiB after the load and 20 s without requests (peak during the load: see the table).`,
    "",
    "| target | measured | met |",
    "|---|---|---|",
    ...verdicts.map((v) => `| ${v.target} | ${v.measured} | ${v.ok ? "yes" : "**no**"} |`),
    "",
  ].join("\n");
}
