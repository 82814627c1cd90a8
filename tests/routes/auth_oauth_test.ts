/**
 * Social sign-in over HTTP against a real OpenID provider (oidc-provider on loopback): sign up
 * through it, sign in again, one-time codes and states, exact `redirect_to` matching, and
 * linking to an existing account only after its owner signs in.
 */
import assert from "node:assert/strict";
import { request } from "../support/helpers.ts";
import { driveAuthorization } from "../support/oidc_provider.ts";
import {
  OAUTH_APP as APP,
  oauthExchange as exchange,
  oauthSetUp as setUpWith,
  oauthSignIn as signInWith,
} from "../support/oauth_support.ts";
import { authed, login, registerUser, uniqueEmail } from "../support/auth_support.ts";
import { jwtClaims, mfaStep, mfaUser, totp } from "../support/mfa_support.ts";
import type { ManualClock } from "../../src/platform/clock.ts";

const setUp = () => setUpWith();

Deno.test("GET /auth/oauth/providers lists the enabled providers", async () => {
  await using s = await setUp();
  const res = await request(s.t.app, "GET", "/api/v1/auth/oauth/providers");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { providers: [{ name: "testidp", display_name: "Testidp" }] });
});

Deno.test("a new person signs up through the provider, signs in again as the same user, and a code works once", async () => {
  await using s = await setUp();
  const email = uniqueEmail("oauth");
  s.idp.accounts.set("alice", { sub: "alice", email, email_verified: true, name: "Alice" });
  const first = await signInWith(s.t, s.idp, "alice");
  assert.deepEqual(s.idp.tokenAuthSeen, ["basic"], "HTTP Basic where discovery offers it");
  const code = first.fragment.get("code")!;
  assert.ok(code);
  const res = await exchange(s.t, code);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.user.email, email);
  assert.equal(body.user.email_verified, true);
  assert.equal(body.user.has_password, false, "a provider's account has no password");
  assert.ok(body.access_token && body.refresh_token);

  const replayed = await exchange(s.t, code);
  assert.equal(replayed.status, 400);
  assert.equal((await replayed.json()).code, "invalid_oauth_code");

  const again = await signInWith(s.t, s.idp, "alice");
  const second = await (await exchange(s.t, again.fragment.get("code")!)).json();
  assert.equal(second.user.id, body.user.id);

  const listed = await authed(s.t, "GET", "/api/v1/me/identities", body.access_token);
  const { identities } = await listed.json();
  assert.equal(identities.length, 1);
  assert.equal(identities[0].provider, "testidp");

  // The only way this account signs in: unlinking it is refused.
  const unlink = await authed(
    s.t,
    "DELETE",
    `/api/v1/me/identities/${identities[0].id}`,
    second.access_token,
  );
  assert.equal(unlink.status, 409);
  assert.equal((await unlink.json()).code, "last_sign_in_method");
  const audit = await s.t.deps.db.selectFrom("audit_events").select("action")
    .where("action", "in", ["oauth.login", "oauth.linked"]).execute();
  assert.deepEqual(audit.map((a) => a.action).sort(), [
    "oauth.linked",
    "oauth.login",
    "oauth.login",
  ]);
});

Deno.test("a replayed state, a missing state and another browser's cookie are 400 invalid_state", async () => {
  await using s = await setUp();
  s.idp.accounts.set("bob", { sub: "bob", email: uniqueEmail("bob"), email_verified: true });
  const flow = await signInWith(s.t, s.idp, "bob");
  const replay = await request(s.t.app, "GET", flow.callbackPath, {
    headers: { cookie: flow.cookie },
  });
  assert.equal(replay.status, 400);
  assert.equal((await replay.json()).code, "invalid_state");
  const missing = await request(s.t.app, "GET", "/api/v1/auth/oauth/testidp/callback?code=x");
  assert.equal((await missing.json()).code, "invalid_state");

  const start = await request(
    s.t.app,
    "GET",
    `/api/v1/auth/oauth/testidp/start?redirect_to=${encodeURIComponent(APP)}`,
  );
  const back = await driveAuthorization(s.idp, start.headers.get("location")!, "bob");
  const foreign = await request(s.t.app, "GET", back.pathname + back.search, {
    headers: { cookie: "__Host-citadel_oauth=" + "A".repeat(43) },
  });
  assert.equal(foreign.status, 400);
  assert.equal((await foreign.json()).code, "invalid_state");
});

Deno.test("redirect_to must match an entry exactly: another host, a prefix, //evil and userinfo are 400 invalid_redirect", async () => {
  await using s = await setUp();
  for (
    const target of [
      "https://evil.example/cb",
      APP + "/more",
      APP + "?x=1",
      "https://app.example.com//evil.example",
      "https://app.example.com%2F%2Fevil.example/cb",
      "https://app.example.com@evil.example/cb",
      "//evil.example",
    ]
  ) {
    const res = await request(
      s.t.app,
      "GET",
      `/api/v1/auth/oauth/testidp/start?redirect_to=${encodeURIComponent(target)}`,
    );
    assert.equal(res.status, 400, target);
    assert.equal((await res.json()).code, "invalid_redirect", target);
  }
});

Deno.test("a verified provider email of an existing verified account needs its owner to sign in and link", async () => {
  await using s = await setUp();
  const email = uniqueEmail("owner");
  const user = await registerUser(s.t, email);
  await s.t.deps.db.updateTable("users").set({ email_verified_at: Date.now() })
    .where("id", "=", user.id).execute();
  s.idp.accounts.set("carol", { sub: "carol", email, email_verified: true });
  const flow = await signInWith(s.t, s.idp, "carol");
  assert.equal(flow.fragment.get("error"), "link_required");
  assert.equal(flow.fragment.get("code"), null);
  const linkCode = flow.fragment.get("link_code")!;

  const session = await login(s.t, email);
  const linked = await authed(s.t, "POST", "/api/v1/me/identities/link", session.access_token, {
    link_code: linkCode,
  });
  assert.equal(linked.status, 200, await linked.clone().text());
  const again = await signInWith(s.t, s.idp, "carol");
  const body = await (await exchange(s.t, again.fragment.get("code")!)).json();
  assert.equal(body.user.id, user.id);
});

Deno.test("an unverified provider email matching an existing account links nothing and signs nobody in", async () => {
  await using s = await setUp();
  const email = uniqueEmail("victim");
  await registerUser(s.t, email);
  s.idp.accounts.set("mallory", { sub: "mallory", email, email_verified: false });
  const flow = await signInWith(s.t, s.idp, "mallory");
  assert.equal(flow.fragment.get("error"), "account_exists");
  assert.equal(flow.fragment.get("code"), null);
  assert.equal(flow.fragment.get("link_code"), null);
  const identities = await s.t.deps.db.selectFrom("oauth_identities").selectAll().execute();
  assert.deepEqual(identities, []);
});

Deno.test("an ID token with a wrong nonce, another issuer or audience, or expired ends in error=provider_error", async () => {
  await using s = await setUp();
  s.idp.accounts.set("dave", { sub: "dave", email: uniqueEmail("dave"), email_verified: true });
  const tampers: Record<string, (c: Record<string, unknown>) => Record<string, unknown>> = {
    nonce: (c) => ({ ...c, nonce: "forged" }),
    issuer: (c) => ({ ...c, iss: "https://evil.example" }),
    audience: (c) => ({ ...c, aud: "someone-else" }),
    expired: (c) => ({ ...c, exp: Math.floor(Date.now() / 1000) - 3600 }),
  };
  for (const [name, tamper] of Object.entries(tampers)) {
    s.idp.tamperIdToken = tamper;
    const flow = await signInWith(s.t, s.idp, "dave");
    assert.equal(flow.fragment.get("error"), "provider_error", name);
    assert.equal(flow.fragment.get("code"), null, name);
  }
  const users = await s.t.deps.db.selectFrom("oauth_identities").selectAll().execute();
  assert.deepEqual(users, []);
  const reasons = (await s.t.deps.db.selectFrom("audit_events").select("details")
    .where("action", "=", "oauth.failed").orderBy("seq").execute())
    .map((e) => JSON.parse(String(e.details)).reason);
  assert.deepEqual(reasons, [
    "id_token_nonce",
    "id_token_issuer",
    "id_token_audience",
    "id_token_expired",
  ]);
});

Deno.test("a disabled user is refused like a wrong password, and a new person with registration off gets 403", async () => {
  await using s = await setUp();
  s.idp.accounts.set("erin", { sub: "erin", email: uniqueEmail("erin"), email_verified: true });
  const first = await signInWith(s.t, s.idp, "erin");
  const body = await (await exchange(s.t, first.fragment.get("code")!)).json();
  await s.t.deps.db.updateTable("users").set({ status: "disabled" })
    .where("id", "=", body.user.id).execute();
  const again = await signInWith(s.t, s.idp, "erin");
  const refused = await exchange(s.t, again.fragment.get("code")!);
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).code, "invalid_credentials");

  await using off = await setUpWith({ REGISTRATION_ENABLED: "false" });
  off.idp.accounts.set("frank", {
    sub: "frank",
    email: uniqueEmail("frank"),
    email_verified: true,
  });
  const flow = await signInWith(off.t, off.idp, "frank");
  const closed = await exchange(off.t, flow.fragment.get("code")!);
  assert.equal(closed.status, 403);
  assert.equal((await closed.json()).code, "registration_disabled");
});

Deno.test("an account with a password unlinks its identity with a fresh session: 204, audited", async () => {
  await using s = await setUp();
  const email = uniqueEmail("gina");
  const user = await registerUser(s.t, email);
  await s.t.deps.db.updateTable("users").set({ email_verified_at: Date.now() })
    .where("id", "=", user.id).execute();
  s.idp.accounts.set("gina", { sub: "gina", email, email_verified: true });
  const flow = await signInWith(s.t, s.idp, "gina");
  const session = await login(s.t, email);
  await authed(s.t, "POST", "/api/v1/me/identities/link", session.access_token, {
    link_code: flow.fragment.get("link_code"),
  });
  const { identities } = await (await authed(
    s.t,
    "GET",
    "/api/v1/me/identities",
    session.access_token,
  )).json();
  const res = await authed(
    s.t,
    "DELETE",
    `/api/v1/me/identities/${identities[0].id}`,
    session.access_token,
  );
  assert.equal(res.status, 204);
  const events = await s.t.deps.db.selectFrom("audit_events").select("action")
    .where("action", "=", "oauth.unlinked").execute();
  assert.equal(events.length, 1);
});

Deno.test("a user with TOTP gets the second step after the exchange, and the session's amr is fed+otp", async () => {
  await using s = await setUp();
  const clock = s.t.clock as ManualClock;
  const user = await mfaUser(s.t, clock, uniqueEmail("henry"));
  await s.t.deps.db.updateTable("users").set({ email_verified_at: clock.now() })
    .where("id", "=", user.id).execute();
  s.idp.accounts.set("henry", { sub: "henry", email: user.email, email_verified: true });
  const offered = await signInWith(s.t, s.idp, "henry");
  const linked = await authed(s.t, "POST", "/api/v1/me/identities/link", user.accessToken, {
    link_code: offered.fragment.get("link_code"),
  });
  assert.equal(linked.status, 200, await linked.clone().text());

  const flow = await signInWith(s.t, s.idp, "henry");
  const res = await exchange(s.t, flow.fragment.get("code")!);
  const challenge = await res.json();
  assert.equal(challenge.mfa_required, true, JSON.stringify(challenge));
  assert.equal(challenge.access_token, undefined);
  const done = await mfaStep(s.t, challenge.mfa_token, { code: totp(user.secret, clock.now()) });
  assert.equal(done.status, 200, await done.clone().text());
  assert.deepEqual(jwtClaims((await done.json()).access_token).amr, ["fed", "otp"]);
});

Deno.test("a code exchanged with another browser's flow cookie is refused and spent (no login CSRF); without the cookie, as an app on another site, it works", async () => {
  await using s = await setUp();
  s.idp.accounts.set("ivan", { sub: "ivan", email: uniqueEmail("ivan"), email_verified: true });
  const attacker = await signInWith(s.t, s.idp, "ivan");
  const victimCookie = "__Host-citadel_oauth=" + "B".repeat(43);
  const slipped = await request(s.t.app, "POST", "/api/v1/auth/oauth/exchange", {
    body: { code: attacker.fragment.get("code") },
    headers: { cookie: victimCookie, origin: "http://localhost" },
  });
  assert.equal(slipped.status, 400);
  assert.equal((await slipped.json()).code, "invalid_oauth_code");
  assert.equal((await exchange(s.t, attacker.fragment.get("code")!)).status, 400);
  const failure = await s.t.deps.db.selectFrom("audit_events").select("details")
    .where("action", "=", "oauth.failed").executeTakeFirstOrThrow();
  assert.match(String(failure.details), /other_browser/);

  const own = await signInWith(s.t, s.idp, "ivan");
  const sameBrowser = await request(s.t.app, "POST", "/api/v1/auth/oauth/exchange", {
    body: { code: own.fragment.get("code") },
    headers: { cookie: own.cookie, origin: "http://localhost" },
  });
  assert.equal(sameBrowser.status, 200);
  const app = await signInWith(s.t, s.idp, "ivan");
  assert.equal((await exchange(s.t, app.fragment.get("code")!)).status, 200);
});

Deno.test("the console's own return page on this server is a redirect_to without being listed, and not with the console off", async () => {
  await using s = await setUp();
  s.idp.accounts.set("judy", { sub: "judy", email: uniqueEmail("judy"), email_verified: true });
  const flow = await signInWith(s.t, s.idp, "judy", "http://localhost/account/sign-in/oauth");
  assert.ok(flow.fragment.get("code"));
  const elsewhere = await request(
    s.t.app,
    "GET",
    `/api/v1/auth/oauth/testidp/start?redirect_to=${
      encodeURIComponent("https://evil.example/account/sign-in/oauth")
    }`,
  );
  assert.equal((await elsewhere.json()).code, "invalid_redirect");

  await using off = await setUpWith({ CONSOLE_ENABLED: "false" });
  const refused = await request(
    off.t.app,
    "GET",
    `/api/v1/auth/oauth/testidp/start?redirect_to=${
      encodeURIComponent("http://localhost/account/sign-in/oauth")
    }`,
  );
  assert.equal(refused.status, 400);
  assert.equal((await refused.json()).code, "invalid_redirect");
});

Deno.test("a provider that takes the client secret only in the form (as LinkedIn) is sent it there, as discovery says, and a missing or empty redirect_to is 400 invalid_redirect", async () => {
  await using s = await setUpWith({}, { tokenEndpointAuthMethod: "client_secret_post" });
  s.idp.accounts.set("lena", { sub: "lena", email: uniqueEmail("lena"), email_verified: true });
  const flow = await signInWith(s.t, s.idp, "lena");
  assert.ok(flow.fragment.get("code"), flow.fragment.toString());
  assert.equal((await exchange(s.t, flow.fragment.get("code")!)).status, 200);
  assert.deepEqual(s.idp.tokenAuthSeen, ["post"]);
  for (const query of ["", "?redirect_to="]) {
    const res = await request(s.t.app, "GET", `/api/v1/auth/oauth/testidp/start${query}`);
    assert.equal(res.status, 400, query);
    assert.equal((await res.json()).code, "invalid_redirect", query);
  }
});

Deno.test("a link code from another browser's flow is refused when the request carries this browser's flow cookie", async () => {
  await using s = await setUp();
  const email = uniqueEmail("nina");
  const user = await registerUser(s.t, email);
  await s.t.deps.db.updateTable("users").set({ email_verified_at: Date.now() })
    .where("id", "=", user.id).execute();
  s.idp.accounts.set("nina", { sub: "nina", email, email_verified: true });
  const flow = await signInWith(s.t, s.idp, "nina");
  const session = await login(s.t, email);
  const foreign = await request(s.t.app, "POST", "/api/v1/me/identities/link", {
    body: { link_code: flow.fragment.get("link_code") },
    headers: {
      authorization: `Bearer ${session.access_token}`,
      cookie: "__Host-citadel_oauth=" + "C".repeat(43),
      origin: "http://localhost",
    },
  });
  assert.equal(foreign.status, 400);
  assert.equal((await foreign.json()).code, "invalid_oauth_code");
  const own = await request(s.t.app, "POST", "/api/v1/me/identities/link", {
    body: { link_code: flow.fragment.get("link_code") },
    headers: {
      authorization: `Bearer ${session.access_token}`,
      cookie: flow.cookie,
      origin: "http://localhost",
    },
  });
  assert.equal(own.status, 200, await own.clone().text());
});

Deno.test("a provider that cannot be reached at the start is 503 provider_unavailable, with the cause in the log and not the secret", async () => {
  // Nothing listens on port 9 of loopback: the connection is refused.
  await using s = await setUpWith({ OAUTH_TESTIDP_ISSUER: "http://127.0.0.1:9" });
  const res = await request(
    s.t.app,
    "GET",
    `/api/v1/auth/oauth/testidp/start?redirect_to=${encodeURIComponent(APP)}`,
  );
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.equal(body.code, "provider_unavailable");
  assert.match(body.detail, /testidp could not be reached/);
  await s.t.deps.logger.flush();
  const logged = s.t.logs.map((l) => JSON.parse(l)).find((l) =>
    l.request_id === body.request_id &&
    l.cause
  );
  assert.ok(logged, "the failure is logged with its cause");
  assert.ok(logged.cause.message.length > 0);
  assert.ok(!s.t.logs.join("\n").includes(s.idp.clientSecret), "the client secret is never logged");
});
