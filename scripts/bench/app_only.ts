/**
 * The app without HTTP: wall and CPU microseconds per request of `app.fetch` for bare Hono and for
 * citadel's hot routes, built like `serve` builds it (production config, file database,
 * LOG_DIR file log, memory counters). Steadier than wrk on a busy machine, and a clean
 * subject for `--cpu-prof`: it shows what the middleware and routes cost, not the socket.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys \
 *     [--cpu-prof] scripts/bench/app_only.ts [--requests 50000] [--concurrency 50] [--only me]
 *     [--algorithm HS256|EdDSA|ES256] [--metrics on|off]
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { Hono } from "hono";
import { createApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config.ts";
import { openRuntime } from "../../src/server/runtime.ts";
import { BENCH_PASSWORD, benchEmail } from "./seed.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "50000" },
    concurrency: { type: "string", default: "50" },
    only: { type: "string" },
    algorithm: { type: "string", default: "HS256" },
    metrics: { type: "string", default: "on" },
  },
});
const total = Number(values.requests);
const concurrency = Number(values.concurrency);

const dir = await Deno.makeTempDir({ prefix: "citadel-app-only-" });
const config = parseConfig({
  APP_ENV: "production",
  DATABASE_URL: `file:${dir}/citadel.db`,
  LOG_DIR: `${dir}/logs`,
  JWT_SECRET_KEY: "app-only-benchmark-secret-0123456789-abcdefghijkl",
  ALLOWED_HOSTS: "127.0.0.1",
  CORS_ORIGINS: "https://app.example.com",
  ALLOW_INSECURE_HTTP: "true",
  RATE_LIMIT_AUTH_PER_MINUTE: "1000000000",
  METRICS_ENABLED: String(values.metrics !== "off"),
  RATE_LIMIT_API_PER_MINUTE: "1000000000",
  API_KEY_RATE_LIMIT_PER_MINUTE: "1000000000",
  // `--algorithm EdDSA` or `ES256` signs with a key pair kept in the database.
  JWT_ALGORITHM: values.algorithm,
  ENCRYPTION_KEY: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))),
});
// Access log lines go to the file only, as under a supervisor that drops stdout.
const { createLogger } = await import("../../src/platform/logger.ts");
const { openLogFileSink } = await import("../../src/platform/log_file_sink.ts");
const file = await openLogFileSink({
  dir: config.logDir!,
  maxBytes: config.logMaxBytes,
  backups: 2,
});
const runtime = await openRuntime(config, {
  migrate: true,
  logger: createLogger({ level: "info", sinks: [file] }),
});
const app = createApp(runtime.deps);
const info = { remoteAddr: { hostname: "127.0.0.1", port: 40000, transport: "tcp" } };
const call = (path: string, init: RequestInit = {}) =>
  app.fetch(new Request(`http://127.0.0.1:8000${path}`, init), info);
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

const email = benchEmail(1);
await call("/api/v1/auth/register", json({ email, password: BENCH_PASSWORD }));
const tokens = await (await call("/api/v1/auth/login", json({ email, password: BENCH_PASSWORD })))
  .json();
const bearer = { authorization: `Bearer ${tokens.access_token}` };
const created = await (await call(
  "/api/v1/api-keys",
  json({ name: "bench", scopes: ["me:read"] }, bearer),
)).json();

const bare = new Hono().get("/", (c) => c.text("Hello, world!"));
const cases: Array<[string, () => Response | Promise<Response>]> = [
  ["bare Hono hello", () => bare.fetch(new Request("http://127.0.0.1:8000/"))],
  ["GET /health", () => call("/health")],
  ["GET /api/v1/me (JWT)", () => call("/api/v1/me", { headers: bearer })],
  ["GET /api/v1/me (API key)", () => call("/api/v1/me", { headers: { "x-api-key": created.key } })],
];

async function measure(run: () => Response | Promise<Response>, n: number) {
  let next = 0;
  let failures = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < n) {
      const res = await run();
      await res.arrayBuffer();
      if (res.status !== 200) failures++;
    }
  }));
  const used = process.cpuUsage(cpu);
  return {
    us: (performance.now() - started) * 1000 / n,
    cpuUs: (used.user + used.system) / n,
    failures,
  };
}

const only = values.only?.toLowerCase();
for (const [name, run] of cases) {
  if (only && !name.toLowerCase().includes(only) && !name.startsWith("bare")) continue;
  await measure(run, Math.min(total, 5000));
  const { us, cpuUs, failures } = await measure(run, total);
  console.log(
    `${name.padEnd(28)} ${us.toFixed(1).padStart(7)} us/request (wall) ${
      cpuUs.toFixed(1).padStart(7)
    } us/request (CPU, all threads)  failures ${failures}`,
  );
}
await runtime.close();
await Deno.remove(dir, { recursive: true });
