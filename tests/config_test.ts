import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../src/config.ts";

const STRONG = "0123456789abcdef0123456789abcdef-strong";
const PROD = {
  APP_ENV: "production",
  JWT_SECRET_KEY: STRONG,
  ALLOWED_HOSTS: "api.example.com",
  TRUSTED_PROXIES: "10.0.0.1/32",
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.map((p) => p.variable);
  }
  return [];
}

Deno.test("parseConfig() applies the documented defaults", () => {
  const config = parseConfig({});
  assert.equal(config.appEnv, "development");
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.port, 8000);
  assert.equal(config.databaseUrl, "file:./data/citadel.db");
  assert.equal(config.maxBodyBytes, 1024 * 1024);
  assert.equal(config.rateLimit.enabled, true);
  assert.equal(config.debug, false);
  assert.equal(config.jwt.accessTtlSeconds, 900);
  assert.deepEqual(config.argon2, { memoryKib: 19456, timeCost: 2, parallelism: 1 });
  assert.deepEqual(config.corsOrigins, []);
});

Deno.test("parseConfig() accepts every database URL form", () => {
  for (const url of [":memory:", "file:/tmp/x.db", "libsql://db.turso.io", "https://db.example"]) {
    assert.equal(parseConfig({ DATABASE_URL: url }).databaseUrl, url);
  }
  assert.deepEqual(problemsOf({ DATABASE_URL: "postgres://x" }), ["DATABASE_URL"]);
});

Deno.test("parseConfig() reports every problem at once", () => {
  const problems = problemsOf({ PORT: "99999", DEBUG: "maybe", LOG_LEVEL: "loud" });
  assert.deepEqual(problems.sort(), ["DEBUG", "LOG_LEVEL", "PORT"]);
});

Deno.test("parseConfig() accepts a hardened production configuration", () => {
  assert.equal(parseConfig(PROD).appEnv, "production");
});

const refusals: Array<[string, Record<string, string>, string]> = [
  ["missing JWT secret", { JWT_SECRET_KEY: "" }, "JWT_SECRET_KEY"],
  ["short JWT secret", { JWT_SECRET_KEY: "too-short-secret" }, "JWT_SECRET_KEY"],
  ["DEBUG=true", { DEBUG: "true" }, "DEBUG"],
  ["wildcard CORS", { CORS_ORIGINS: "*" }, "CORS_ORIGINS"],
  ["no ALLOWED_HOSTS", { ALLOWED_HOSTS: "" }, "ALLOWED_HOSTS"],
  ["plain HTTP without proxy or opt-in", { TRUSTED_PROXIES: "" }, "ALLOW_INSECURE_HTTP"],
];
for (const [name, override, variable] of refusals) {
  Deno.test(`parseConfig() refuses production with ${name}`, () => {
    assert.deepEqual(problemsOf({ ...PROD, ...override }), [variable]);
  });
}

Deno.test("parseConfig() allows a wildcard origin and no secret in development", () => {
  const config = parseConfig({ CORS_ORIGINS: "*" });
  assert.deepEqual(config.corsOrigins, ["*"]);
  assert.equal(config.jwt.secret, undefined);
});

Deno.test("parseConfig() rejects origins that are not exact", () => {
  assert.deepEqual(problemsOf({ CORS_ORIGINS: "https://a.example/path" }), ["CORS_ORIGINS"]);
  assert.deepEqual(problemsOf({ CORS_ORIGINS: "null" }), ["CORS_ORIGINS"]);
});

Deno.test("parseConfig() refuses HTTP_REDIRECT_PORT without TLS and a webhook without a secret", () => {
  assert.deepEqual(problemsOf({ HTTP_REDIRECT_PORT: "8080" }), ["HTTP_REDIRECT_PORT"]);
  assert.deepEqual(problemsOf({ ALERT_WEBHOOK_URL: "https://hooks.example/x" }), [
    "ALERT_WEBHOOK_SECRET",
  ]);
});

// The guards and limiters take these values as given: the config is the one place that
// refuses a limit that is not a positive whole number (or a route that is not a path).
const REFUSED_LIMITS: Array<[variable: string, value: string]> = [
  ["LOGIN_MAX_ATTEMPTS", "0"],
  ["LOGIN_WINDOW_MINUTES", "0"],
  ["LOGIN_IP_MAX_ATTEMPTS", "-1"],
  ["LOGIN_EMAIL_MAX_ATTEMPTS", "1.5"],
  ["RATE_LIMIT_AUTH_PER_MINUTE", "0"],
  ["RATE_LIMIT_AUTH_PER_HOUR", "0"],
  ["RATE_LIMIT_AUTH_PER_DAY", "ten"],
  ["RATE_LIMIT_API_PER_MINUTE", "0"],
  ["RATE_LIMIT_ROUTES", "me=5"],
  ["RATE_LIMIT_ROUTES", "/api/v1/me=0"],
  ["SENSITIVE_PATH_MAX_HITS", "0"],
  ["NOT_FOUND_MAX_HITS", "0"],
  ["PATH_GUARD_WINDOW_MINUTES", "0.5"],
  ["PATH_GUARD_BLOCK_MINUTES", "0"],
];
Deno.test("parseConfig() refuses guard and limiter limits that are not positive whole numbers", () => {
  for (const [variable, value] of REFUSED_LIMITS) {
    assert.deepEqual(problemsOf({ [variable]: value }), [variable], `${variable}=${value}`);
  }
});
