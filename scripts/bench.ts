/**
 * `deno task bench`: citadel's performance benchmark, one command, one run.
 *
 * Starts the baselines (a bare Deno.serve hello, a bare Hono hello, and bare Hono
 * sending a recorded copy of citadel's /api/v1/me response, headers and all) and the
 * real server (`deno run src/main.ts serve --workers 1`) with a production
 * configuration: APP_ENV=production, a file database and LOG_DIR access log in a
 * temporary directory, host guard, CORS, path guard, login guard and rate limits on
 * (limits raised so they never refuse), argon2id at the OWASP parameters. It registers
 * users and an API key through the API, restarts the server to time a warm start,
 * warms up, and drives each scenario with wrk (autocannon or a fetch driver without
 * wrk) in alternating rounds: servers pinned to core 0, the load generator to the last
 * core (taskset). Prints and writes the table (default bench-results/latest.md): req/s,
 * p50/p99, non-2xx, server CPU per request, RSS, the ratio to bare Hono, and the
 * targets of issue 11.
 *
 *   deno task bench [--seconds 5] [--rounds 3] [--connections 50] [--out FILE]
 *                   [--only jwt,login] [--cpu-prof DIR]
 *
 * Setup: Deno 2.9.6 and wrk (`apt-get install -y wrk`); without wrk, Node's npx runs
 * autocannon. Linux for taskset, `ps` and /proc (elsewhere pinning, RSS and CPU are
 * skipped). `--cpu-prof DIR` writes the server's V8 profiles (read them with
 * scripts/bench/cpuprof_summary.ts); `--only` keeps the baselines and the scenarios
 * whose names contain one of the words.
 */
import { parseArgs } from "node:util";
import { drive, hasCommand, loadTool } from "./bench/load.ts";
import type { BenchProcess } from "./bench/process.ts";
import { renderMarkdown, type ScenarioResult } from "./bench/report.ts";
import {
  bearerOf,
  getScenario,
  type LoadShape,
  loginScenario,
  REFRESH_USER,
  refreshScenario,
  type Scenario,
} from "./bench/scenarios.ts";
import { createApiKey, login, registerUsers } from "./bench/seed.ts";
import {
  argon2Params,
  asymmetricEnv,
  machine,
  type Placement,
  probeArgon2,
  startBaseline,
  startCitadel,
} from "./bench/setup.ts";
import { judge } from "./bench/targets.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "50" },
    out: { type: "string", default: "bench-results/latest.md" },
    only: { type: "string" },
    "cpu-prof": { type: "string" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const only = values.only?.split(",").map((s) => s.trim().toLowerCase());
const selected = (name: string) =>
  !only || name.startsWith("bare") || only.some((o) => name.toLowerCase().includes(o));

const cores = navigator.hardwareConcurrency;
const pin = cores >= 2 && await hasCommand("taskset");
const place: Placement = pin ? { serverCpu: "0", loadCpu: String(cores - 1) } : {};
const serverCores = pin ? 1 : cores;
const dir = await Deno.makeTempDir({ prefix: "citadel-bench-" });
const shape: LoadShape = {
  seconds,
  connections: Number(values.connections),
  loadCpu: place.loadCpu,
  dir,
};
const servers: BenchProcess[] = [];
const IDLE_SETTLE_S = 20;
const log = (message: string) => console.error(`[bench] ${message}`);
const citadelOptions = (workers: number, pinned = true) => ({
  dir,
  workers,
  cpu: pinned ? place.serverCpu : undefined,
  samplerCpu: place.loadCpu,
  profileDir: values["cpu-prof"],
});

/** The /api/v1/me response as sent, for the static baseline. */
async function recordMe(server: BenchProcess): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/me`, { headers: await bearerOf(server)() });
  const file = `${dir}/me_response.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({ headers: [...res.headers], body: await res.text() }),
  );
  return file;
}

try {
  log(
    `temporary directory ${dir}; ${
      pin ? `servers on core ${place.serverCpu}, load on core ${place.loadCpu}` : "no pinning"
    }`,
  );
  const pinnedProbe = await probeArgon2(place.serverCpu);
  const allCoresProbe = pin ? await probeArgon2() : pinnedProbe;
  const hashMs = pinnedProbe.medianMs;
  log(
    `argon2id verification: ${hashMs.toFixed(1)} ms; ${
      allCoresProbe.parallelPerSecond.toFixed(0)
    }/s with ${allCoresProbe.threads} side by side`,
  );

  const first = await startCitadel("citadel (first start)", citadelOptions(1));
  log(`first start: ${first.startupMs.toFixed(0)} ms; registering ${REFRESH_USER} users`);
  await registerUsers(first.url, REFRESH_USER);
  await first.stop();

  const citadel = await startCitadel("citadel", citadelOptions(1));
  servers.push(citadel);
  log(`warm start: ${citadel.startupMs.toFixed(0)} ms`);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = await citadel.rssMiB();
  const apiKey = await createApiKey(citadel.url, (await login(citadel.url, 1)).access_token);
  const meFile = await recordMe(citadel);

  // The same server signing with Ed25519 from its own database (keys live there), restarted
  // after registering like the HS256 one, so neither carries the password dictionaries.
  const eddsaOptions = {
    ...citadelOptions(1),
    dir: `${dir}/eddsa`,
    env: asymmetricEnv("EdDSA"),
  };
  await Deno.mkdir(eddsaOptions.dir);
  const eddsaFirst = await startCitadel("citadel (EdDSA, first start)", eddsaOptions);
  await registerUsers(eddsaFirst.url, 1);
  await eddsaFirst.stop();
  const eddsa = await startCitadel("citadel (EdDSA)", eddsaOptions);
  servers.push(eddsa);

  // The same HS256 server with METRICS_ENABLED=false, its own database (one server per
  // database), for the cost of recording every request's metrics.
  const unmeteredOptions = {
    ...citadelOptions(1),
    dir: `${dir}/unmetered`,
    env: { METRICS_ENABLED: "false" },
  };
  await Deno.mkdir(unmeteredOptions.dir);
  const unmeteredFirst = await startCitadel("citadel (metrics off, first start)", unmeteredOptions);
  await registerUsers(unmeteredFirst.url, 1);
  await unmeteredFirst.stop();
  const unmetered = await startCitadel("citadel (metrics off)", unmeteredOptions);
  servers.push(unmetered);

  const [bareDeno, bareHono, staticMe] = await Promise.all([
    startBaseline("bare Deno.serve", "bare_deno.ts", place),
    startBaseline("bare Hono", "bare_hono.ts", place),
    startBaseline("bare Hono, static /me", "static_response.ts", place, [meFile]),
  ]);
  servers.push(bareDeno, bareHono, staticMe);

  const scenarios: Scenario[] = [
    getScenario("bare Deno.serve hello", bareDeno, "/", shape),
    getScenario("bare Hono hello", bareHono, "/", shape),
    getScenario(
      "bare Hono, static copy of the /me response",
      staticMe,
      "/",
      shape,
      undefined,
      "same headers and body as JWT /me: the floor",
    ),
    getScenario("GET /health", citadel, "/health", shape, undefined, "database ping"),
    getScenario("GET /api/v1/me (JWT)", citadel, "/api/v1/me", shape, bearerOf(citadel)),
    getScenario(
      "GET /api/v1/me (JWT, metrics off)",
      unmetered,
      "/api/v1/me",
      shape,
      bearerOf(unmetered),
      "METRICS_ENABLED=false, its own database",
    ),
    getScenario(
      "GET /api/v1/me (JWT, EdDSA)",
      eddsa,
      "/api/v1/me",
      shape,
      bearerOf(eddsa),
      "JWT_ALGORITHM=EdDSA, its own database",
    ),
    getScenario(
      "GET /api/v1/me (API key)",
      citadel,
      "/api/v1/me",
      shape,
      () => Promise.resolve({ "x-api-key": apiKey }),
    ),
    loginScenario(
      "POST /api/v1/auth/login (1 worker)",
      citadel,
      4 * serverCores,
      shape,
      `${4 * serverCores} connections, users in turn`,
    ),
    refreshScenario("POST /api/v1/auth/refresh", citadel, shape),
  ];
  // argon2 runs on a pool of threads, so a pinned core caps logins: also measure all
  // cores, with one isolate (one thread per core hashes) and with one isolate per core.
  for (const workers of new Set([1, cores])) {
    const name = `POST /api/v1/auth/login, all cores (--workers ${workers})`;
    if (!selected(name)) continue;
    const wide = await startCitadel(
      `citadel --workers ${workers}`,
      citadelOptions(workers, false),
    );
    servers.push(wide);
    scenarios.push(
      loginScenario(name, wide, 4 * cores, shape, `${4 * cores} connections, server not pinned`),
    );
  }
  const chosen = scenarios.filter((s) => selected(s.name));

  log("warming up");
  for (const s of chosen) await drive({ ...await s.spec(), seconds: 2 });

  const results = new Map<string, ScenarioResult>(
    chosen.map((s) => [s.name, { name: s.name, rounds: [], cpuUs: [], note: s.note }]),
  );
  for (let round = 1; round <= rounds; round++) {
    for (const s of chosen) {
      const spec = await s.spec();
      const entry = results.get(s.name)!;
      const stopSampling = s.server.sampleRss();
      const cpuBefore = await s.server.cpuSeconds();
      const outcome = await drive(spec);
      const cpuAfter = await s.server.cpuSeconds();
      const peak = await stopSampling();
      entry.rounds.push(outcome);
      if (cpuBefore !== undefined && cpuAfter !== undefined && outcome.requests > 0) {
        entry.cpuUs.push((cpuAfter - cpuBefore) * 1e6 / outcome.requests);
      }
      if (s.server.name.startsWith("citadel") && peak !== undefined) {
        entry.rssPeakMiB = Math.max(entry.rssPeakMiB ?? 0, peak);
      }
      log(
        `round ${round} ${s.name}: ${outcome.rps.toFixed(0)} req/s, p99 ${
          outcome.p99Ms.toFixed(2)
        } ms, non-2xx ${outcome.non2xx}`,
      );
    }
  }

  // V8 gives its grown heap back after some quiet seconds (its memory reducer).
  log(`${IDLE_SETTLE_S} s without requests, then idle RSS`);
  await new Promise((r) => setTimeout(r, IDLE_SETTLE_S * 1000));
  const idleRssAfter = await citadel.rssMiB();
  const all = [...results.values()];
  const facts = {
    hashMs,
    parallelHashesPerSecond: allCoresProbe.parallelPerSecond,
    serverCores,
    machineCores: cores,
    warmStartMs: citadel.startupMs,
    idleRssMiB: idleRss,
    idleRssAfterMiB: idleRssAfter,
  };
  const verdicts = judge(all, facts);
  const markdown = renderMarkdown(all, results.get("bare Hono hello")!, {
    ...facts,
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    machine: await machine(),
    deno: Deno.version.deno,
    tool: await loadTool(),
    setup:
      `${rounds} rounds of ${seconds} s per scenario (medians; counts summed), ${shape.connections} connections unless noted; ${
        pin
          ? `servers pinned to core ${place.serverCpu}, load generator to core ${place.loadCpu}`
          : "no CPU pinning"
      }; citadel \`serve --workers 1\` unless noted, APP_ENV=production, file database, access log in LOG_DIR, all guards on.`,
    argon2Params: argon2Params(),
    firstStartMs: first.startupMs,
  }, verdicts);
  console.log(markdown);
  const out = values.out!;
  const slash = out.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(out.slice(0, slash), { recursive: true });
  await Deno.writeTextFile(out, markdown);
  log(`wrote ${out}`);
  if (verdicts.some((v) => !v.ok)) log("some targets were missed");
} finally {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
