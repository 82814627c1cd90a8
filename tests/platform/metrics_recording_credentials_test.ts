/**
 * The credential counters of platform/metrics.ts read back from a real `GET /metrics`: API keys
 * presented to the API by outcome (accepted; malformed, unknown or revoked; the database
 * failing), and a provider's sign-in as a login outcome (a new person's session, a disabled
 * account refused like a wrong password).
 */
import assert from "node:assert/strict";
import { sql } from "kysely";
import { generateApiKey } from "../../src/lib/api_key_format.ts";
import { authed, login, registerUser, uniqueEmail } from "../support/auth_support.ts";
import { metered, meteredApp, watch } from "../support/metrics_support.ts";
import { oauthExchange, oauthSetUp, oauthSignIn } from "../support/oauth_support.ts";
import { apiKey, withKey } from "../support/passkey_support.ts";

const KEY_OUTCOMES = ["citadel_api_key_authentications_total"];
const outcome = (value: string) => `citadel_api_key_authentications_total{outcome="${value}"}`;

Deno.test("API keys are counted by outcome: success, invalid (malformed, unknown, revoked), unavailable", async () => {
  const t = await meteredApp();
  try {
    const user = await registerUser(t);
    const tokens = await login(t, user.email);
    const key = await apiKey(t, tokens.access_token, ["me:read"]);
    const keys = await watch(t, KEY_OUTCOMES);

    for (let i = 0; i < 3; i++) {
      assert.equal((await withKey(t, "GET", "/api/v1/me", key)).status, 200);
    }
    assert.deepEqual(await keys.changes(), { [outcome("success")]: 3 });

    assert.equal((await withKey(t, "GET", "/api/v1/me", "ctd_not-a-key")).status, 401);
    assert.equal((await withKey(t, "GET", "/api/v1/me", generateApiKey())).status, 401);
    const listed = await authed(t, "GET", "/api/v1/api-keys", tokens.access_token);
    const id = (await listed.json()).api_keys[0].id as string;
    const revoked = await authed(t, "DELETE", `/api/v1/api-keys/${id}`, tokens.access_token);
    assert.equal(revoked.status, 204);
    assert.equal((await withKey(t, "GET", "/api/v1/me", key)).status, 401);
    assert.deepEqual(await keys.changes(), { [outcome("invalid")]: 3 });

    // A key that has to be looked up while the database cannot answer it: neither valid nor not.
    await sql`ALTER TABLE api_key_secrets RENAME TO api_key_secrets_away`.execute(t.deps.db);
    const failed = await t.app.request("http://localhost/api/v1/me", {
      headers: { "x-api-key": generateApiKey() },
    }, { remoteAddr: { hostname: "127.0.0.1" } });
    assert.equal(failed.status, 500);
    await failed.body?.cancel();
    await sql`ALTER TABLE api_key_secrets_away RENAME TO api_key_secrets`.execute(t.deps.db);
    assert.deepEqual(await keys.changes(), { [outcome("unavailable")]: 1 });
  } finally {
    await t.close();
  }
});

Deno.test("a provider's sign-in counts success, and a disabled account's refusal invalid_credentials", async () => {
  await using s = await oauthSetUp();
  const t = metered(s.t);
  s.idp.accounts.set("erin", { sub: "erin", email: uniqueEmail("erin"), email_verified: true });
  const logins = await watch(t, ["citadel_logins_total"]);
  const first = await oauthExchange(t, (await oauthSignIn(t, s.idp, "erin")).fragment.get("code")!);
  assert.equal(first.status, 200, await first.clone().text());
  assert.deepEqual(await logins.changes(), { 'citadel_logins_total{outcome="success"}': 1 });

  await t.deps.db.updateTable("users").set({ status: "disabled" })
    .where("id", "=", (await first.json()).user.id).execute();
  const again = await oauthSignIn(t, s.idp, "erin");
  const refused = await oauthExchange(t, again.fragment.get("code")!);
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).code, "invalid_credentials");
  assert.deepEqual(await logins.changes(), {
    'citadel_logins_total{outcome="invalid_credentials"}': 1,
  });
});
