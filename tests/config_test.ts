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

// Refusals that moved here from the middleware and platform factories, which now take
// these values as given: each bad value is refused at start, naming its variable and the
// fix, with the problem the factory used to throw at build.
const MOVED_REFUSALS: Array<[env: Record<string, string>, variable: string, problem: RegExp]> = [
  [{ ALLOWED_HOSTS: "https://api.example.com" }, "ALLOWED_HOSTS", /not a host name/],
  [{ ALLOWED_HOSTS: "api.example.com,a b" }, "ALLOWED_HOSTS", /"a b" is not a host name/],
  [{ ALLOWED_HOSTS: "." }, "ALLOWED_HOSTS", /not a host name/],
  [{ ...PROD, ALLOWED_HOSTS: "api.example.com/x" }, "ALLOWED_HOSTS", /not a host name/],
  [{ ...PROD, CORS_ORIGINS: "*" }, "CORS_ORIGINS", /must not be \* when APP_ENV=production/],
  [{ APP_ENV: "test", CORS_ORIGINS: "*" }, "CORS_ORIGINS", /only allowed when APP_ENV=development/],
  [{ CORS_ORIGINS: "null" }, "CORS_ORIGINS", /not an exact origin/],
  [{ CORS_ORIGINS: "https://app.example.com/" }, "CORS_ORIGINS", /not an exact origin/],
  [{ CORS_ORIGINS: "https://app.example.com/path" }, "CORS_ORIGINS", /not an exact origin/],
  [{ CORS_ORIGINS: "app.example.com" }, "CORS_ORIGINS", /not an exact origin/],
  [{ CORS_ORIGINS: "ftp://x.example" }, "CORS_ORIGINS", /not an exact origin/],
  [
    { CROSS_ORIGIN_RESOURCE_POLICY: "cross-origin" },
    "CROSS_ORIGIN_RESOURCE_POLICY",
    /same-origin or same-site/,
  ],
  [{ RATE_LIMIT_STORE: "redis" }, "REDIS_URL", /required when RATE_LIMIT_STORE=redis/],
  [{ REDIS_URL: "http://127.0.0.1:6379" }, "REDIS_URL", /must start with redis:\/\//],
  [
    { ALERT_WEBHOOK_URL: "https://hooks.example/x" },
    "ALERT_WEBHOOK_SECRET",
    /required when ALERT_WEBHOOK_URL is set/,
  ],
  [
    { ALERT_WEBHOOK_URL: "ftp://x", ALERT_WEBHOOK_SECRET: STRONG },
    "ALERT_WEBHOOK_URL",
    /http\(s\)/,
  ],
  [{ LOG_MAX_BYTES: "0" }, "LOG_MAX_BYTES", /whole number from 1024/],
  [{ LOG_BACKUPS: "-1" }, "LOG_BACKUPS", /whole number from 0/],
];
for (const [env, variable, problem] of MOVED_REFUSALS) {
  const shown = Object.entries(env)
    .filter(([name, value]) => name === "APP_ENV" || PROD[name as keyof typeof PROD] !== value)
    .map(([name, value]) => `${name}=${value}`);
  Deno.test(`parseConfig() refuses ${shown.join(" ")}, naming ${variable}`, () => {
    let refused: ConfigError | undefined;
    try {
      parseConfig(env);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      refused = error;
    }
    assert.ok(refused, "refused");
    assert.deepEqual(refused.problems.map((p) => p.variable), [variable]);
    assert.match(refused.problems[0].problem, problem);
    assert.ok(refused.problems[0].fix.length > 0);
  });
}

Deno.test("parseConfig() leaves ALLOWED_HOSTS in the form the host guard compares", () => {
  const config = parseConfig({ ALLOWED_HOSTS: "API.Example.com:8443, .Example.org., [::1]" });
  assert.deepEqual(config.allowedHosts, ["api.example.com", ".example.org", "[::1]"]);
});

Deno.test("parseConfig() refuses an MFA_ISSUER with a colon (authenticator apps split issuer and account on it)", () => {
  assert.throws(
    () => parseConfig({ MFA_ISSUER: "Acme: Prod" }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.problems.some((p) => p.variable === "MFA_ISSUER" && /colon/.test(p.problem)),
  );
  assert.equal(parseConfig({ MFA_ISSUER: "Acme Corp" }).mfa.issuer, "Acme Corp");
});
