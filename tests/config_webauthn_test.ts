/**
 * WEBAUTHN_* validation (issue 20): exact origins, an RP ID that is a host name covering
 * PUBLIC_URL's origin and every WEBAUTHN_ORIGINS entry, an RP ID whenever origins are listed,
 * and in production only https:// origins (rule `https-webauthn-origins`).
 */
import assert from "node:assert/strict";
import { ConfigError, type ConfigProblem, parseConfig } from "../src/config.ts";
import { PRODUCTION_RULES } from "../src/production_rules.ts";

const PROD = {
  APP_ENV: "production",
  JWT_SECRET_KEY: "0123456789abcdef0123456789abcdef-strong",
  ALLOWED_HOSTS: "auth.example.com",
  TRUSTED_PROXIES: "10.0.0.1/32",
};

function problemsOf(env: Record<string, string>): ConfigProblem[] {
  try {
    parseConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  return [];
}

const variables = (env: Record<string, string>) => problemsOf(env).map((p) => p.variable);

Deno.test("parseConfig() reads WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME and WEBAUTHN_ORIGINS, with their defaults", () => {
  const defaults = parseConfig({});
  assert.deepEqual(defaults.webauthn, { rpId: undefined, rpName: "citadel", origins: [] });
  const set = parseConfig({
    WEBAUTHN_RP_ID: "example.com",
    WEBAUTHN_RP_NAME: "Example Inc",
    WEBAUTHN_ORIGINS: "https://auth.example.com, https://app.example.com",
  });
  assert.deepEqual(set.webauthn, {
    rpId: "example.com",
    rpName: "Example Inc",
    origins: ["https://auth.example.com", "https://app.example.com"],
  });
});

Deno.test("parseConfig() refuses a WEBAUTHN_ORIGINS entry that is not an exact origin", () => {
  for (
    const origin of [
      "https://app.example.com/login",
      "https://app.example.com/",
      "app.example.com",
      "ftp://app.example.com",
      "*",
      "null",
    ]
  ) {
    const problems = problemsOf({ WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: origin });
    assert.deepEqual(problems.map((p) => p.variable), ["WEBAUTHN_ORIGINS"], origin);
    assert.match(problems[0].problem, /exact origin/);
  }
});

Deno.test("parseConfig() refuses a WEBAUTHN_RP_ID that is not a lower-case host name", () => {
  for (const rpId of ["https://example.com", "example.com:443", "Example.com", "example.com/x"]) {
    assert.deepEqual(variables({ PUBLIC_URL: "https://example.com", WEBAUTHN_RP_ID: rpId }), [
      "WEBAUTHN_RP_ID",
    ], rpId);
  }
});

Deno.test("parseConfig() refuses a WEBAUTHN_RP_ID that does not cover PUBLIC_URL's host or a listed origin", () => {
  const cases: Array<[string, Record<string, string>]> = [
    ["another domain", { PUBLIC_URL: "https://auth.example.com", WEBAUTHN_RP_ID: "other.com" }],
    ["a suffix that is no parent", {
      PUBLIC_URL: "https://auth.example.com",
      WEBAUTHN_RP_ID: "ample.com",
    }],
    ["a child of the host", {
      PUBLIC_URL: "https://example.com",
      WEBAUTHN_RP_ID: "auth.example.com",
    }],
    ["an origin outside it", {
      PUBLIC_URL: "https://auth.example.com",
      WEBAUTHN_RP_ID: "example.com",
      WEBAUTHN_ORIGINS: "https://app.example.org",
    }],
    ["PUBLIC_URL's host as default RP ID, an origin elsewhere", {
      PUBLIC_URL: "https://auth.example.com",
      WEBAUTHN_ORIGINS: "https://app.example.com",
    }],
  ];
  for (const [what, env] of cases) {
    const problems = problemsOf(env);
    assert.deepEqual(problems.map((p) => p.variable), ["WEBAUTHN_RP_ID"], what);
    assert.match(problems[0].problem, /does not cover/, what);
  }
});

Deno.test("parseConfig() accepts WEBAUTHN_RP_ID=example.com covering https://auth.example.com and https://app.example.com", () => {
  const config = parseConfig({
    PUBLIC_URL: "https://auth.example.com",
    WEBAUTHN_RP_ID: "example.com",
    WEBAUTHN_ORIGINS: "https://app.example.com",
  });
  assert.equal(config.webauthn.rpId, "example.com");
  assert.deepEqual(config.webauthn.origins, ["https://app.example.com"]);
  // The apex itself is covered, and so is a port.
  assert.deepEqual(
    variables({ WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: "https://example.com:8443" }),
    [],
  );
});

Deno.test("parseConfig() refuses WEBAUTHN_ORIGINS without PUBLIC_URL and without WEBAUTHN_RP_ID", () => {
  const problems = problemsOf({ WEBAUTHN_ORIGINS: "https://app.example.com" });
  assert.deepEqual(problems.map((p) => p.variable), ["WEBAUTHN_RP_ID"]);
  assert.match(problems[0].problem, /required/);
});

Deno.test("parseConfig() refuses WEBAUTHN_RP_ID with no origin to use it (no PUBLIC_URL, no WEBAUTHN_ORIGINS, or both empty), with one WEBAUTHN_RP_ID problem that says so", () => {
  // Otherwise the setting is silently ignored: the request's own origin stands in outside
  // production and passkeys answer 503 in production.
  const cases: Array<[string, Record<string, string>]> = [
    ["WEBAUTHN_RP_ID alone", { WEBAUTHN_RP_ID: "example.com" }],
    ["with WEBAUTHN_RP_NAME", { WEBAUTHN_RP_ID: "example.com", WEBAUTHN_RP_NAME: "Example" }],
    ["empty WEBAUTHN_ORIGINS", { WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: "" }],
    ["WEBAUTHN_ORIGINS of separators", { WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: " , " }],
    ["empty PUBLIC_URL", { WEBAUTHN_RP_ID: "example.com", PUBLIC_URL: "" }],
  ];
  for (const [what, env] of cases) {
    const problems = problemsOf(env);
    assert.deepEqual(problems.map((p) => p.variable), ["WEBAUTHN_RP_ID"], what);
    assert.match(problems[0].problem, /no origin/, what);
    assert.match(problems[0].fix, /PUBLIC_URL/, what);
  }
  // Given an origin by either setting, the same RP ID is accepted.
  assert.deepEqual(
    variables({ WEBAUTHN_RP_ID: "example.com", PUBLIC_URL: "https://auth.example.com" }),
    [],
  );
  assert.deepEqual(
    variables({ WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: "https://auth.example.com" }),
    [],
  );
});

Deno.test("parseConfig() with WEBAUTHN_RP_ID and an invalid WEBAUTHN_ORIGINS entry reports only the WEBAUTHN_ORIGINS problem, whether or not a valid entry is listed beside it", () => {
  const cases: Array<[string, string, string[]]> = [
    ["the only entry invalid", "https://auth.example.com/login", [
      "https://auth.example.com/login",
    ]],
    ["a valid entry beside it", "https://auth.example.com, https://app.example.com/login", [
      "https://app.example.com/login",
    ]],
    ["two invalid entries", "app.example.com, https://app.example.com/", [
      "app.example.com",
      "https://app.example.com/",
    ]],
  ];
  for (const [what, origins, invalid] of cases) {
    const problems = problemsOf({ WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: origins });
    assert.deepEqual(
      problems.map((p) => p.variable),
      invalid.map(() => "WEBAUTHN_ORIGINS"),
      what,
    );
    for (const [index, origin] of invalid.entries()) {
      assert.ok(problems[index].problem.includes(`"${origin}"`), `${what}: names ${origin}`);
    }
  }
});

Deno.test("production refuses http:// WEBAUTHN_ORIGINS by rule https-webauthn-origins, and accepts https:// ones", () => {
  const rule = PRODUCTION_RULES.find((r) => r.id === "https-webauthn-origins");
  assert.ok(rule, "the rule exists");
  const env = { ...PROD, PUBLIC_URL: "https://auth.example.com", WEBAUTHN_RP_ID: "example.com" };
  const problems = problemsOf({ ...env, WEBAUTHN_ORIGINS: "http://app.example.com" });
  assert.deepEqual(problems, [{ variable: rule.variable, problem: rule.message, fix: rule.fix }]);
  assert.equal(rule.variable, "WEBAUTHN_ORIGINS");
  assert.deepEqual(problemsOf({ ...env, WEBAUTHN_ORIGINS: "https://app.example.com" }), []);
  // The same http:// origin is allowed outside production (a developer's machine).
  assert.deepEqual(
    problemsOf({ WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: "http://app.example.com" }),
    [],
  );
});
