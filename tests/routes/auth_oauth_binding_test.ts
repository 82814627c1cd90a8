/**
 * What binds a social sign-in's code to whoever started it, beyond the browser's flow cookie
 * (auth_oauth_test.ts): the app's own PKCE challenge at the start, whose verifier the exchange
 * then needs, and a step-up start (`prompt=login`) that makes the provider sign the user in
 * again and is checked against the ID token's `auth_time`.
 */
import assert from "node:assert/strict";
import { uniqueEmail } from "../support/auth_support.ts";
import { request } from "../support/helpers.ts";
import { assertProblem } from "../support/mfa_support.ts";
import { OAUTH_APP, oauthExchange, oauthSetUp, oauthSignIn } from "../support/oauth_support.ts";

/** A PKCE verifier and its S256 challenge, as an app makes them. */
async function pkce() {
  const verifier = crypto.randomUUID() + crypto.randomUUID();
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const challenge = btoa(String.fromCharCode(...new Uint8Array(digest)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return { verifier, challenge };
}

const exchangeWith = (s: { t: Parameters<typeof oauthExchange>[0] }, body: unknown) =>
  request(s.t.app, "POST", "/api/v1/auth/oauth/exchange", { body });

Deno.test("a code started with the app's PKCE challenge is exchanged only with its verifier: none or another is 400 invalid_oauth_code and spends it", async () => {
  await using s = await oauthSetUp();
  s.idp.accounts.set("pia", { sub: "pia", email: uniqueEmail("pia"), email_verified: true });
  const { verifier, challenge } = await pkce();
  const query = `&code_challenge=${challenge}&code_challenge_method=S256`;

  const stolen = await oauthSignIn(s.t, s.idp, "pia", OAUTH_APP, query);
  await assertProblem(
    await oauthExchange(s.t, stolen.fragment.get("code")!),
    400,
    "invalid_oauth_code",
  );
  const other = await pkce();
  const wrong = await oauthSignIn(s.t, s.idp, "pia", OAUTH_APP, query);
  await assertProblem(
    await exchangeWith(s, { code: wrong.fragment.get("code"), code_verifier: other.verifier }),
    400,
    "invalid_oauth_code",
  );
  const right = await oauthSignIn(s.t, s.idp, "pia", OAUTH_APP, query);
  const done = await exchangeWith(s, { code: right.fragment.get("code"), code_verifier: verifier });
  assert.equal(done.status, 200, await done.clone().text());
  const reasons = (await s.t.deps.db.selectFrom("audit_events").select("details")
    .where("action", "=", "oauth.failed").execute())
    .map((e) => JSON.parse(String(e.details)).reason);
  assert.deepEqual(reasons, ["app_pkce_mismatch", "app_pkce_mismatch"]);
});

Deno.test("the app's PKCE must be S256 with a well-formed challenge: plain, a short challenge or a method alone are 422", async () => {
  await using s = await oauthSetUp();
  const base = `/api/v1/auth/oauth/testidp/start?redirect_to=${encodeURIComponent(OAUTH_APP)}`;
  for (
    const query of [
      `&code_challenge=${"a".repeat(43)}&code_challenge_method=plain`,
      "&code_challenge=short&code_challenge_method=S256",
      "&code_challenge_method=S256",
    ]
  ) {
    await assertProblem(await request(s.t.app, "GET", base + query), 422, "validation_failed");
  }
  await assertProblem(
    await exchangeWith(s, { code: "x", code_verifier: "too short" }),
    422,
    "validation_failed",
  );
});

Deno.test("prompt=login asks the provider to sign the user in again (max_age=0), and an ID token whose auth_time is old ends in provider_error", async () => {
  await using s = await oauthSetUp();
  s.idp.accounts.set("quin", { sub: "quin", email: uniqueEmail("quin"), email_verified: true });
  const fresh = await oauthSignIn(s.t, s.idp, "quin", OAUTH_APP, "&prompt=login");
  assert.equal(fresh.authorization.searchParams.get("prompt"), "login");
  assert.equal(fresh.authorization.searchParams.get("max_age"), "0");
  assert.ok(fresh.fragment.get("code"), fresh.fragment.toString());

  s.idp.tamperIdToken = (claims) => ({ ...claims, auth_time: Math.floor(Date.now() / 1000) - 600 });
  const stale = await oauthSignIn(s.t, s.idp, "quin", OAUTH_APP, "&prompt=login");
  assert.equal(stale.fragment.get("error"), "provider_error");
  const failure = await s.t.deps.db.selectFrom("audit_events").select("details")
    .where("action", "=", "oauth.failed").executeTakeFirstOrThrow();
  assert.equal(JSON.parse(String(failure.details)).reason, "id_token_auth_time");

  const plain = await oauthSignIn(s.t, s.idp, "quin");
  assert.equal(plain.authorization.searchParams.get("prompt"), null);
  assert.ok(plain.fragment.get("code"), "without prompt=login an old auth_time is fine");
});
