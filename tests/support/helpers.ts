import { createApp } from "../../src/app.ts";
import type { AppDeps } from "../../src/app_types.ts";
import { type Config, parseConfig } from "../../src/config.ts";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";
import type { PasswordHasher } from "../../src/platform/password_hasher.ts";
import { type Clock, ManualClock } from "../../src/platform/clock.ts";
import { memoryCounterStore } from "../../src/platform/counter_store_memory.ts";
import { createLogger, memorySink } from "../../src/platform/logger.ts";
import { checkAgainstDocument } from "./openapi_check.ts";
import { createAlerter } from "../../src/services/alerts.ts";
import { VERSION } from "../../src/version.ts";
import { spawnServer } from "./spawned_server.ts";

/** A 48-byte test secret; tests never use production secrets. */
export const TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/** Environment for fast tests: memory database, cheap argon2 (production cost is tested separately). */
export const TEST_ENV: Record<string, string> = {
  APP_ENV: "test",
  DATABASE_URL: ":memory:",
  JWT_SECRET_KEY: TEST_SECRET,
  // A fixed field-encryption key (32 bytes): TOTP seeds and signing keys are stored under it.
  ENCRYPTION_KEY: "dGVzdC1maWVsZC1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=",
  ARGON2_MEMORY_KIB: "1024",
  ARGON2_TIME_COST: "1",
  LOG_LEVEL: "warn",
  // Limits stay on (their code runs) but high enough for suites that register many users.
  RATE_LIMIT_AUTH_PER_MINUTE: "1000000",
  RATE_LIMIT_AUTH_PER_HOUR: "1000000",
  RATE_LIMIT_AUTH_PER_DAY: "1000000",
};

export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({ ...TEST_ENV, ...env });
}

/** A test app over a real migrated libSQL database, with its deps for inspection. */
export interface TestApp {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  clock: Clock;
  logs: string[];
  close(): Promise<void>;
}

/** Builds deps with a migrated in-memory (or given) database and a manual clock. */
export async function buildTestApp(
  env: Record<string, string> = {},
  options: { clock?: Clock; wrapHasher?: (hasher: PasswordHasher) => PasswordHasher } = {},
): Promise<TestApp> {
  const config = testConfig(env);
  const { db } = await connect(config);
  await migrateUp(db);
  const sink = memorySink();
  const clock = options.clock ?? new ManualClock(Date.now());
  const logger = createLogger({ level: "debug", sinks: [sink], flushIntervalMs: 1 });
  const deps: AppDeps = {
    config,
    db,
    clock,
    hasher: (options.wrapHasher ?? ((h) => h))(nativeArgon2(config.argon2)),
    counters: memoryCounterStore(clock),
    logger,
    alerts: createAlerter({ logger, clock }),
    version: VERSION,
  };
  const app = createApp(deps);
  return {
    app,
    deps,
    clock,
    logs: sink.lines,
    async close() {
      await deps.alerts.close(100);
      await logger.close();
      await db.destroy();
    },
  };
}

/**
 * Sends a JSON request to an in-process app, as from the given client address; the answer is
 * checked against the app's OpenAPI document (openapi_check.ts) before the test sees it.
 */
export async function request(
  app: TestApp["app"],
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; ip?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await app.request(`http://localhost${path}`, { method, headers, body }, {
    remoteAddr: { hostname: options.ip ?? "127.0.0.1" },
  });
  await checkAgainstDocument(app as never, method, path, response.clone());
  return response;
}

export const DENO = Deno.execPath();
export const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
export const RUN_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
];

/** A citadel process started with `deno run src/main.ts ...`. */
export interface ServerProcess {
  url: string;
  port: number;
  process: Deno.ChildProcess;
  output: string[];
  /** Sends a signal and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * Runs the CLI to completion and returns its exit code and output. With `timeoutMs` the
 * process is killed after that long, so a command that should have exited (e.g. a serve
 * that should have refused to start) fails the test instead of hanging it.
 */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(DENO, {
    args: ["run", ...RUN_PERMISSIONS, MAIN, ...args],
    env: { NO_COLOR: "1", ...options.env },
    clearEnv: true,
    cwd: options.cwd,
    signal: options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Starts `citadel serve` on a free loopback port and waits for it to listen. */
export async function startServer(
  env: Record<string, string>,
  options: { cwd?: string; args?: string[] } = {},
): Promise<ServerProcess> {
  const server = await spawnServer(
    DENO,
    ["run", ...RUN_PERMISSIONS, MAIN, "serve", ...(options.args ?? [])],
    /"msg":"listening".*"port":(\d+)/,
    {
      env: { HOST: "127.0.0.1", PORT: "0", NO_COLOR: "1", ...env },
      clearEnv: true,
      cwd: options.cwd,
      timeoutMs: 20_000,
    },
  );
  const port = Number(server.ready[1]);
  return { ...server, url: `http://127.0.0.1:${port}`, port };
}

/** A fresh temporary directory removed by the returned disposer. */
export async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "citadel-test-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}
