import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../src/config.ts";
import { PRODUCTION_RULES } from "../src/production_rules.ts";
import { atOrAbove, type Finding } from "../src/tools/check/types.ts";
import { runCli, tempDir } from "./support/helpers.ts";
import { freshSecret, hardenedDeployment } from "./support/check_deployment.ts";

/** A production configuration that breaks no rule; each case below breaks exactly one. */
const PASSING = {
  APP_ENV: "production",
  JWT_SECRET_KEY: freshSecret(),
  ALLOWED_HOSTS: "api.example.com",
  CORS_ORIGINS: "https://app.example.com",
  TRUSTED_PROXIES: "127.0.0.1",
};

/** The one change that breaks each rule, by rule id. */
const BREAKS: Record<string, Record<string, string>> = {
  "jwt-secret-required": { JWT_SECRET_KEY: "" },
  "jwt-secret-length": { JWT_SECRET_KEY: freshSecret(16) },
  "debug-off": { DEBUG: "true" },
  "cors-no-wildcard": { CORS_ORIGINS: "*" },
  "metrics-not-public": { METRICS_ALLOWED_IPS: "10.0.0.0/8,0.0.0.0/0" },
  "allowed-hosts-required": { ALLOWED_HOSTS: "" },
  "plain-http-explicit": { TRUSTED_PROXIES: "" },
  "encryption-key-for-signing-keys": { JWT_ALGORITHM: "EdDSA" },
  "smtp-tls-required": { SMTP_ALLOW_INSECURE: "true" },
  "public-url-for-email": { SMTP_URL: "smtp://mail.example.com:587" },
  "smtp-for-required-verification": { EMAIL_VERIFICATION: "required" },
  "https-email-links": { PUBLIC_URL: "http://auth.example.com" },
  "public-url-for-oauth": {
    OAUTH_PROVIDERS: "google",
    OAUTH_GOOGLE_CLIENT_ID: "client",
    OAUTH_GOOGLE_CLIENT_SECRET: "secret",
    OAUTH_REDIRECT_URLS: "https://app.example.com/auth/callback",
  },
  "https-oauth-redirects": { OAUTH_REDIRECT_URLS: "http://app.example.com/auth/callback" },
  "https-oauth-issuers": {
    PUBLIC_URL: "https://auth.example.com",
    OAUTH_PROVIDERS: "acme",
    OAUTH_ACME_ISSUER: "http://id.example.com",
    OAUTH_ACME_CLIENT_ID: "client",
    OAUTH_ACME_CLIENT_SECRET: "secret",
    OAUTH_REDIRECT_URLS: "https://app.example.com/auth/callback",
  },
  "https-webauthn-origins": {
    WEBAUTHN_RP_ID: "example.com",
    WEBAUTHN_ORIGINS: "http://app.example.com",
  },
};

function refusals(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => p.variable);
  }
}

Deno.test("every production rule has a case in this table, and the base breaks none", () => {
  assert.deepEqual(Object.keys(BREAKS).sort(), PRODUCTION_RULES.map((r) => r.id).sort());
  assert.deepEqual(refusals(PASSING), []);
});

for (const rule of PRODUCTION_RULES) {
  Deno.test(`production rule ${rule.id}: serve refuses it and check reports it at ${rule.severity} on ${rule.variable}`, async () => {
    const env = { ...PASSING, ...BREAKS[rule.id] };
    assert.deepEqual(refusals(env), [rule.variable], "parseConfig refuses this rule only");

    await using d = await hardenedDeployment({ database: false });
    Object.assign(d.env, BREAKS[rule.id]);
    const { report, exitCode } = await d.check();
    const named = report.findings.filter((f: Finding) => f.setting === rule.variable);
    const fromRule = named.find((f) => f.id === "CIT-091" && f.found.includes(rule.id));
    assert.ok(fromRule, `no CIT-091 finding for ${rule.id}: ${JSON.stringify(named)}`);
    assert.equal(fromRule.severity, rule.severity);
    assert.ok(atOrAbove(fromRule.severity, "high"));
    assert.equal(fromRule.fix, rule.fix);
    assert.equal(exitCode, 1, "the default fail level (high) fails the check");
  });
}

Deno.test("citadel check fails on an empty ALLOWED_HOSTS in production, the setting serve refuses", async () => {
  await using dir = await tempDir();
  const env = { ...PASSING, ALLOWED_HOSTS: "", DATABASE_URL: `file:${dir.path}/c.db` };
  const serve = await runCli(["serve"], { cwd: dir.path, env });
  assert.equal(serve.code, 2);
  assert.match(serve.stderr, /ALLOWED_HOSTS: is required when APP_ENV=production/);

  const check = await runCli(["check", "--json"], { cwd: dir.path, env });
  assert.equal(check.code, 1, check.stderr);
  const findings: Finding[] = JSON.parse(check.stdout).findings;
  const hosts = findings.filter((f) => f.setting === "ALLOWED_HOSTS");
  assert.deepEqual(hosts.map((f) => `${f.id} ${f.severity}`), ["CIT-091 high"]);
});
