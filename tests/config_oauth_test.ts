/**
 * The per-provider variables of social sign-in and the rules that read the OAuth settings
 * together, through parseConfig as serve and check read them.
 */
import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../src/config.ts";
import { TEST_ENV } from "./support/helpers.ts";

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig({ ...TEST_ENV, ...env });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => `${p.variable}: ${p.problem}`);
  }
}

const REDIRECT = { OAUTH_REDIRECT_URLS: "https://app.example.com/cb" };

Deno.test("a preset needs only its client id and secret; a generic provider is found by its issuer", () => {
  const config = parseConfig({
    ...TEST_ENV,
    ...REDIRECT,
    OAUTH_PROVIDERS: "google,Acme",
    OAUTH_GOOGLE_CLIENT_ID: "gid",
    OAUTH_GOOGLE_CLIENT_SECRET: "gsecret",
    OAUTH_ACME_ISSUER: "https://id.acme.example/realms/main",
    OAUTH_ACME_CLIENT_ID: "aid",
    OAUTH_ACME_CLIENT_SECRET: "asecret",
    OAUTH_ACME_SCOPES: "email profile",
  });
  assert.deepEqual(config.oauthProviders.map((p) => [p.name, p.displayName, p.issuer, p.scopes]), [
    ["google", "Google", "https://accounts.google.com", ["openid", "email", "profile"]],
    ["acme", "Acme", "https://id.acme.example/realms/main", ["openid", "email", "profile"]],
  ]);
});

Deno.test("missing client credentials, a generic provider without issuer and bad names are refused by variable", () => {
  assert.deepEqual(
    problemsOf({ ...REDIRECT, OAUTH_PROVIDERS: "github" }).map((p) => p.split(":")[0]),
    [
      "OAUTH_GITHUB_CLIENT_ID",
      "OAUTH_GITHUB_CLIENT_SECRET",
    ],
  );
  const generic = problemsOf({
    ...REDIRECT,
    OAUTH_PROVIDERS: "acme",
    OAUTH_ACME_CLIENT_ID: "a",
    OAUTH_ACME_CLIENT_SECRET: "b",
  });
  assert.equal(generic.length, 1);
  assert.match(generic[0], /^OAUTH_ACME_ISSUER: is required/);
  assert.match(problemsOf({ ...REDIRECT, OAUTH_PROVIDERS: "my-idp" })[0], /^OAUTH_PROVIDERS: /);
});

Deno.test("OAUTH_REDIRECT_URLS is required with providers when the console is off (its return page is always accepted) and refuses fragments, credentials and script schemes", () => {
  const base = {
    OAUTH_PROVIDERS: "google",
    OAUTH_GOOGLE_CLIENT_ID: "gid",
    OAUTH_GOOGLE_CLIENT_SECRET: "gsecret",
  };
  assert.deepEqual(problemsOf(base), []);
  assert.match(
    problemsOf({ ...base, CONSOLE_ENABLED: "false" })[0],
    /^OAUTH_REDIRECT_URLS: is required when OAUTH_PROVIDERS is set and CONSOLE_ENABLED=false/,
  );
  for (
    const bad of [
      "https://app.example.com/cb#x",
      "https://u:p@app.example.com/",
      "javascript:alert(1)",
      "/relative",
    ]
  ) {
    assert.equal(problemsOf({ ...base, OAUTH_REDIRECT_URLS: bad }).length, 1, bad);
  }
  assert.deepEqual(problemsOf({ ...base, OAUTH_REDIRECT_URLS: "com.example.app:/oauth" }), []);
});

Deno.test("OAUTH_STORE_TOKENS needs ENCRYPTION_KEY", () => {
  assert.deepEqual(
    problemsOf({ OAUTH_STORE_TOKENS: "true", ENCRYPTION_KEY: "" }).map((p) => p.split(":")[0]),
    [
      "OAUTH_STORE_TOKENS",
    ],
  );
});
