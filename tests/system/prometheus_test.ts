/**
 * Debian's Prometheus scrapes a real `citadel serve` (issue 23's acceptance): with the example
 * configuration of deploy/prometheus/ (Bearer token from a file, the alert rules), after a
 * scripted mix of logins, failed logins, a brute-force block and 429s, Prometheus's query API
 * answers exactly the counts the script caused; promtool accepts the rules, the example
 * configuration and a real exposition; and under `serve --workers 2` one scrape answers every
 * worker's requests. Needs `prometheus` and `promtool` (Debian's prometheus, installed by
 * .ci/run): the test fails with the install hint without them.
 */
import assert from "node:assert/strict";
import { VERSION } from "../../src/version.ts";
import { startServer, tempDir, TEST_SECRET } from "../support/helpers.ts";
import {
  type PrometheusServer,
  promtool,
  requirePrometheus,
  type Sample,
  startPrometheus,
} from "../support/prometheus_server.ts";

const EXAMPLE = new URL("../../deploy/prometheus/", import.meta.url).pathname;
const LOGIN = "/api/v1/auth/login";
const ADMIN = { email: "admin@citadel.localhost", password: "Bootstrap-Harbor-Pass-91!" };
const TOKEN = `scrape-${"0123456789abcdef".repeat(3)}`;
/** Failures per (address, account) before the login guard blocks the pair. */
const MAX_ATTEMPTS = 3;
/** Login requests per address per minute before the auth limiter answers 429. */
const AUTH_PER_MINUTE = 5;
const FAST = { ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1" };

/** What the scripted mix sent, by what it must have caused. */
interface Mix {
  success: number;
  invalid: number;
  blocked: number;
  rateLimited: number;
}

/** A login from `client` (X-Forwarded-For, which citadel trusts from loopback only). */
async function login(url: string, client: string, email: string, password: string) {
  const res = await fetch(`${url}${LOGIN}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": client },
    body: JSON.stringify({ email, password }),
  });
  const body = await res.json();
  return { status: res.status, code: body.code as string | undefined };
}

/**
 * Three clients, each on its own address so the limits apply to one of them only: one signs
 * in twice; one guesses the admin's password until the login guard blocks the pair and tries
 * twice more; one tries unknown accounts until the auth limiter refuses it twice.
 */
async function scriptedMix(url: string): Promise<Mix> {
  const mix: Mix = { success: 0, invalid: 0, blocked: 0, rateLimited: 0 };
  for (let i = 0; i < 2; i++) {
    assert.equal((await login(url, "203.0.113.10", ADMIN.email, ADMIN.password)).status, 200);
    mix.success++;
  }
  for (let i = 0; i < MAX_ATTEMPTS + 2; i++) {
    const res = await login(url, "203.0.113.20", ADMIN.email, `Wrong-Guess-${i}-Harbor!`);
    if (i < MAX_ATTEMPTS) {
      assert.deepEqual(res, { status: 401, code: "invalid_credentials" });
      mix.invalid++;
    } else {
      assert.deepEqual(res, { status: 429, code: "too_many_attempts" });
      mix.blocked++;
    }
  }
  for (let i = 0; i < AUTH_PER_MINUTE + 2; i++) {
    const res = await login(url, "203.0.113.30", `nobody-${i}@example.com`, "Not-A-Password-42!");
    if (i < AUTH_PER_MINUTE) {
      assert.deepEqual(res, { status: 401, code: "invalid_credentials" });
      mix.invalid++;
    } else {
      assert.deepEqual(res, { status: 429, code: "rate_limited" });
      mix.rateLimited++;
    }
  }
  return mix;
}

/**
 * The example configuration, untouched, beside alerts.yml and the token file it reads; and a
 * copy for this test that only scrapes and evaluates every second and targets this citadel.
 */
async function exampleConfigs(
  dir: string,
  port: number,
): Promise<{ example: string; run: string }> {
  const source = await Deno.readTextFile(`${EXAMPLE}prometheus.yml`);
  for (const sub of ["example", "run"]) {
    await Deno.mkdir(`${dir}/${sub}`);
    await Deno.copyFile(`${EXAMPLE}alerts.yml`, `${dir}/${sub}/alerts.yml`);
    await Deno.writeTextFile(`${dir}/${sub}/citadel_metrics_token`, `${TOKEN}\n`, { mode: 0o600 });
  }
  await Deno.writeTextFile(`${dir}/example/prometheus.yml`, source);
  const run = source
    .replace("scrape_interval: 15s", "scrape_interval: 1s")
    .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
    .replace("- 127.0.0.1:8000", `- 127.0.0.1:${port}`);
  assert.ok(run.includes("scrape_interval: 1s") && run.includes("evaluation_interval: 1s"));
  assert.ok(run.includes(`127.0.0.1:${port}`), "the example's target changed");
  await Deno.writeTextFile(`${dir}/run/prometheus.yml`, run);
  return { example: `${dir}/example/prometheus.yml`, run: `${dir}/run/prometheus.yml` };
}

/** Waits until Prometheus has scraped citadel after `since` (seconds since the epoch). */
async function scrapedAfter(prometheus: PrometheusServer, since: number): Promise<void> {
  for (let waited = 0; waited < 15_000; waited += 200) {
    const [last] = await prometheus.query('timestamp(up{job="citadel"} == 1)');
    if (last && last.value > since) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no successful scrape after the script:\n${prometheus.output.join("\n")}`);
}

/** Series of an answer keyed by the values of `labels`, joined with a space. */
function byLabels(samples: Sample[], ...labels: string[]): Record<string, number> {
  return Object.fromEntries(
    samples.map((s) => [labels.map((label) => s.metric[label]).join(" "), s.value]),
  );
}

interface AlertingRule {
  type: string;
  name: string;
  duration: number;
  health: string;
  lastError?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The loaded alert rules once Prometheus has evaluated each of them. */
async function evaluatedRules(prometheus: PrometheusServer): Promise<AlertingRule[]> {
  let rules: AlertingRule[] = [];
  for (let waited = 0; waited < 10_000; waited += 200) {
    const data = await prometheus.api<{ groups: Array<{ rules: AlertingRule[] }> }>(
      "/api/v1/rules?type=alert",
    );
    rules = data.groups.flatMap((group) => group.rules);
    if (rules.length > 0 && rules.every((rule) => rule.health !== "unknown")) return rules;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the rules were not all evaluated: ${JSON.stringify(rules)}`);
}

/** A direct scrape with the token, for promtool. */
async function scrape(url: string, token?: string): Promise<Response> {
  return await fetch(`${url}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

Deno.test("Prometheus scrapes citadel with the example configuration and counts exactly what a scripted attack did", async () => {
  await requirePrometheus();
  const started = performance.now();
  await using dir = await tempDir();
  const citadel = await startServer({
    APP_ENV: "development",
    DATABASE_URL: `file:${dir.path}/citadel.db`,
    JWT_SECRET_KEY: TEST_SECRET,
    SUPER_ADMIN_USERNAME: ADMIN.email,
    SUPER_ADMIN_PASSWORD: ADMIN.password,
    LOGIN_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    RATE_LIMIT_AUTH_PER_MINUTE: String(AUTH_PER_MINUTE),
    // The script's clients are told apart by X-Forwarded-For, trusted from loopback only.
    TRUSTED_PROXIES: "127.0.0.1",
    TRUSTED_PROXY_HEADER: "x-forwarded-for",
    // No address may scrape without the token (not even loopback, where Prometheus runs):
    // the example's Bearer token from a file is what lets it in.
    METRICS_ALLOWED_IPS: "192.0.2.1/32",
    METRICS_TOKEN: TOKEN,
    ...FAST,
  }, { cwd: dir.path });
  let prometheus: PrometheusServer | undefined;
  try {
    const configs = await exampleConfigs(dir.path, citadel.port);
    const checked = await promtool(["check", "config", configs.example]);
    assert.equal(checked.code, 0, checked.output);
    const rules = await promtool(["check", "rules", `${EXAMPLE}alerts.yml`]);
    assert.equal(rules.code, 0, rules.output);
    const ruleCount =
      (await Deno.readTextFile(`${EXAMPLE}alerts.yml`)).match(/^\s*- alert:/gm)!.length;
    assert.match(rules.output, new RegExp(`SUCCESS: ${ruleCount} rules found`));

    prometheus = await startPrometheus(configs.run, dir.path);
    const mix = await scriptedMix(citadel.url);
    await scrapedAfter(prometheus, Date.now() / 1000);

    const target = (await prometheus.api<{
      activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }>;
    }>("/api/v1/targets?state=active")).activeTargets;
    assert.deepEqual(
      target.map((t) => [t.labels.job, t.health, t.lastError]),
      [["citadel", "up", ""]],
      "the one target is scraped with the token",
    );
    assert.deepEqual(byLabels(await prometheus.query("citadel_logins_total"), "outcome"), {
      success: mix.success,
      invalid_credentials: mix.invalid,
      blocked: mix.blocked,
    });
    // A pair refused while blocked counts once per refused attempt, as logins{blocked}.
    assert.deepEqual(byLabels(await prometheus.query("citadel_guard_blocks_total"), "reason"), {
      pair: mix.blocked,
    });
    assert.deepEqual(byLabels(await prometheus.query("citadel_rate_limited_total"), "limiter"), {
      auth: mix.rateLimited,
    });
    const logins = await prometheus.query(`citadel_http_requests_total{route="${LOGIN}"}`);
    assert.deepEqual(byLabels(logins, "method", "status"), {
      "POST 200": mix.success,
      "POST 401": mix.invalid,
      "POST 429": mix.blocked + mix.rateLimited,
    });
    // Every attempt that reached the login service was audited (the rate-limited did not).
    const [audited] = await prometheus.query("sum(citadel_audit_events_total)");
    assert.ok(audited.value >= mix.success + mix.invalid + mix.blocked, String(audited.value));
    assert.deepEqual(
      byLabels(await prometheus.query("citadel_build_info"), "version"),
      { [VERSION]: 1 },
    );

    const alerting = await evaluatedRules(prometheus);
    assert.equal(alerting.length, ruleCount);
    for (const rule of alerting) {
      assert.equal(rule.health, "ok", `${rule.name}: ${rule.lastError}`);
      assert.ok(rule.duration > 0, `${rule.name} has a for`);
      assert.ok(["critical", "warning", "info"].includes(rule.labels.severity), rule.name);
      assert.ok(rule.annotations.summary && rule.annotations.description, rule.name);
    }

    assert.equal((await scrape(citadel.url)).status, 404, "without the token, as unknown");
    const exposition = await scrape(citadel.url, TOKEN);
    assert.equal(exposition.status, 200);
    const text = await exposition.text();
    assert.match(text, /^citadel_logins_total\{outcome="blocked"\} 2$/m);
    const lint = await promtool(["check", "metrics"], { stdin: text });
    // Any line is a lint finding (promtool prints nothing for a clean exposition).
    assert.deepEqual([lint.code, lint.output.trim()], [0, ""]);
  } finally {
    await prometheus?.stop();
    await citadel.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`);
});

Deno.test("serve --workers 2: one scrape counts the requests every worker answered", async () => {
  await requirePrometheus();
  const requests = 40;
  await using dir = await tempDir();
  const citadel = await startServer({
    DATABASE_URL: `file:${dir.path}/workers.db`,
    JWT_SECRET_KEY: TEST_SECRET,
    SUPER_ADMIN_PASSWORD: ADMIN.password,
    ...FAST,
  }, { cwd: dir.path, args: ["--workers", "2"] });
  try {
    // A connection of its own per request, so SO_REUSEPORT spreads them over the workers.
    for (let i = 0; i < requests; i++) {
      const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      try {
        const res = await fetch(`${citadel.url}/health`, {
          client,
          headers: { "x-request-id": `prometheus-workers-${i}` },
        });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      } finally {
        client.close();
      }
    }
    const workers = new Set<string>();
    for (let waited = 0; waited < 5_000 && workers.size < 2; waited += 50) {
      for (const line of citadel.output) {
        if (!line.includes('"request_id":"prometheus-workers-')) continue;
        workers.add(/"worker":(\d+)/.exec(line)?.[1] ?? "none");
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual([...workers].sort(), ["1", "2"], "both workers answered some requests");
    for (let i = 0; i < 3; i++) {
      const res = await scrape(citadel.url);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(
        text,
        new RegExp(
          `^citadel_http_requests_total\\{route="/health",method="GET",status="200"\\} ${requests}$`,
          "m",
        ),
        `scrape ${i + 1} counts every worker's requests`,
      );
      const lint = await promtool(["check", "metrics"], { stdin: text });
      assert.deepEqual([lint.code, lint.output.trim()], [0, ""], "the merged exposition lints");
    }
  } finally {
    await citadel.stop();
  }
});
