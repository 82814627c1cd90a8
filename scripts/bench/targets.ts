/** The targets of issue 11, judged on one benchmark run. */
import { type ScenarioResult, summarise, type Verdict } from "./report.ts";

/** What the verdicts need besides the scenarios. */
export interface TargetFacts {
  /** One argon2id verification on the server's core, ms. */
  hashMs: number;
  /** Verifications per second with one per CPU side by side, measured. */
  parallelHashesPerSecond: number;
  /** Cores the pinned server may use, and all cores. */
  serverCores: number;
  machineCores: number;
  warmStartMs: number;
  idleRssMiB?: number;
  idleRssAfterMiB?: number;
}

const MB_PER_MIB = 1.048576;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Pass/fail per target; a target whose scenarios did not run is left out. */
export function judge(all: ScenarioResult[], facts: TargetFacts): Verdict[] {
  const find = (prefix: string) => {
    const found = all.find((s) => s.name.startsWith(prefix));
    return found && summarise(found);
  };
  const hono = find("bare Hono");
  const jwt = find("GET /api/v1/me (JWT)");
  const key = find("GET /api/v1/me (API key)");
  const eddsa = find("GET /api/v1/me (JWT, EdDSA)");
  const loginPinned = find("POST /api/v1/auth/login (");
  const wide = all.filter((s) => s.name.startsWith("POST /api/v1/auth/login, all cores"))
    .map(summarise).sort((a, b) => b.rps - a.rps);
  const loginWide = wide[0];
  const verdicts: Verdict[] = [];
  const add = (target: string, measured: string, ok: boolean) =>
    verdicts.push({ target, measured, ok });
  if (hono && jwt) {
    add("JWT /me >= 50% of bare Hono req/s", pct(jwt.rps / hono.rps), jwt.rps >= 0.5 * hono.rps);
    add(
      "JWT /me p99 <= 2x bare Hono p99",
      `${jwt.p99Ms.toFixed(2)} ms vs ${hono.p99Ms.toFixed(2)} ms (${
        (jwt.p99Ms / hono.p99Ms).toFixed(2)
      }x)`,
      jwt.p99Ms <= 2 * hono.p99Ms,
    );
  }
  if (hono && key) {
    add(
      "API-key /me >= 45% of bare Hono req/s",
      pct(key.rps / hono.rps),
      key.rps >= 0.45 * hono.rps,
    );
  }
  if (jwt && eddsa) {
    add(
      "EdDSA JWT /me within 10% of HS256 JWT /me",
      `${(eddsa.rps / jwt.rps).toFixed(2)}x`,
      eddsa.rps >= 0.9 * jwt.rps,
    );
  }
  if (jwt && key) {
    add(
      "API-key /me >= 0.9x JWT /me",
      `${(key.rps / jwt.rps).toFixed(2)}x`,
      key.rps >= 0.9 * jwt.rps,
    );
  }
  const versus = (label: string, rps: number, ceiling: number) =>
    add(
      `login >= 90% of ${label}`,
      `${rps.toFixed(1)}/s of ${ceiling.toFixed(1)}/s = ${pct(rps / ceiling)}`,
      rps >= 0.9 * ceiling,
    );
  const perCore = 1000 / facts.hashMs;
  if (loginPinned) {
    versus(
      `the argon2 rate of the ${facts.serverCores} pinned core(s)`,
      loginPinned.rps,
      perCore * facts.serverCores,
    );
  }
  if (loginWide) {
    versus(
      `argon2 measured on all ${facts.machineCores} cores side by side`,
      loginWide.rps,
      facts.parallelHashesPerSecond,
    );
    versus(
      `${facts.machineCores} x the one-core argon2 rate`,
      loginWide.rps,
      perCore * facts.machineCores,
    );
  }
  const idle = Math.max(facts.idleRssMiB ?? 0, facts.idleRssAfterMiB ?? 0);
  if (idle > 0) add("idle RSS <= 100 MB", `${idle.toFixed(1)} MiB`, idle * MB_PER_MIB <= 100);
  // Judged on the one-isolate server; serve --workers N holds N + 1 isolates by design.
  const single = all.filter((s) => s.rssPeakMiB !== undefined && !/--workers [2-9]/.test(s.name));
  if (single.length > 0) {
    const peak = Math.max(...single.map((s) => s.rssPeakMiB!));
    add(
      "RSS under load <= 200 MB (one isolate)",
      `${peak.toFixed(1)} MiB`,
      peak * MB_PER_MIB <= 200,
    );
  }
  add(
    "start to first healthy <= 500 ms (warm cache)",
    `${facts.warmStartMs.toFixed(0)} ms`,
    facts.warmStartMs <= 500,
  );
  const failures = all.reduce((n, s) => {
    const m = summarise(s);
    return n + m.non2xx + m.socketErrors;
  }, 0);
  add("no non-2xx responses or socket errors", String(failures), failures === 0);
  return verdicts;
}
