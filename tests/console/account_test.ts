/**
 * `/account` through the console's own forms, each action checked through the API: the page
 * (nonce CSP, no-store), profile, password, sessions, sign-up, step-up, and the session's
 * timeouts and revocation.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { CONSOLE_IDLE_MS } from "../../src/services/console_sessions.ts";
import { login, registerUser, STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";
import { csrfFor, getPage, postForm, signIn } from "../support/console_support.ts";
import { buildTestApp, request } from "../support/helpers.ts";

const NEW_PASSWORD = "Granite-Harbor-Violet-93!";

Deno.test("/account shows the user's page under a nonce CSP with no-store, and without a session redirects to sign in", async () => {
  const t = await buildTestApp();
  try {
    const anonymous = await getPage(t, "/account");
    assert.equal(anonymous.status, 303);
    assert.equal(anonymous.headers.get("location"), "/account/sign-in?next=%2Faccount");
    const user = await registerUser(t, uniqueEmail("page"), STRONG_PASSWORD, "Ada <Lovelace>");
    const cookie = await signIn(t, user.email);
    const page = await getPage(t, "/account", cookie);
    assert.equal(page.status, 200);
    const csp = page.headers.get("content-security-policy") ?? "";
    const nonce = /'nonce-([A-Za-z0-9_-]+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /form-action 'self'/);
    assert.match(csp, /base-uri 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(page.headers.get("cache-control"), "no-store");
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    const html = await page.text();
    assert.ok(html.startsWith("<!doctype html>"));
    assert.ok(html.includes(`nonce="${nonce}"`));
    assert.ok(html.includes("Ada &lt;Lovelace&gt;"), "the name is escaped");
    assert.doesNotMatch(html, /<script>|\son[a-z]+=|style=/i, "no inline script, handler or style");
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length, "every id is unique");
    // Every input has a label.
    for (const [, id] of html.matchAll(/<input[^>]*\sid="([^"]+)"/g)) {
      assert.ok(html.includes(`for="${id}"`), `a label for #${id}`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("profile and password forms act through the API; the password change keeps this session and ends the others", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const other = await login(t, user.email);
    const cookie = await signIn(t, user.email);
    let res = await postForm(t, "/account/profile", cookie, {
      _csrf: await csrfFor(t, cookie),
      name: "Grace",
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/account?done=profile");
    const me = await request(t.app, "GET", "/api/v1/me", {
      headers: { authorization: `Bearer ${other.access_token}` },
    });
    assert.equal((await me.json()).user.name, "Grace");

    res = await postForm(t, "/account/password", cookie, {
      _csrf: await csrfFor(t, cookie),
      current_password: "wrong-password-entirely",
      new_password: NEW_PASSWORD,
    });
    assert.equal(res.status, 422);
    const failed = await res.text();
    assert.match(failed, /id="f-current_password-error" role="alert">is incorrect/);

    res = await postForm(t, "/account/password", cookie, {
      _csrf: await csrfFor(t, cookie),
      current_password: STRONG_PASSWORD,
      new_password: NEW_PASSWORD,
    });
    assert.equal(res.status, 303, await res.clone().text());
    assert.equal((await getPage(t, "/account", cookie)).status, 200, "this session stays");
    const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: other.refresh_token },
    });
    assert.equal(refreshed.status, 401, "the other session ended");
    await login(t, user.email, NEW_PASSWORD);
  } finally {
    await t.close();
  }
});

Deno.test("signing out, a revoked session, a disabled account and the idle and absolute limits all end the console session", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const out = await postForm(t, "/account/sign-out", cookie, { _csrf: await csrfFor(t, cookie) });
    assert.equal(out.status, 303);
    assert.match(out.headers.getSetCookie().join(), /__Host-citadel_console=;/);
    assert.equal((await getPage(t, "/account", cookie)).status, 303, "replayed after sign-out");

    const idle = await signIn(t, user.email);
    clock.advance(CONSOLE_IDLE_MS.user - 1000);
    assert.equal((await getPage(t, "/account", idle)).status, 200, "active within the idle time");
    clock.advance(CONSOLE_IDLE_MS.user + 1000);
    assert.equal((await getPage(t, "/account", idle)).status, 303, "idle too long");

    const absolute = await signIn(t, user.email);
    for (let i = 0; i < 25; i++) {
      clock.advance(29 * 60_000);
      const res = await getPage(t, "/account", absolute);
      if (i < 24) assert.equal(res.status, 200, `still live after ${(i + 1) * 29} min`);
      else assert.equal(res.status, 303, "over 12 h");
    }

    const revoked = await signIn(t, user.email);
    const api = await login(t, user.email);
    const all = await request(t.app, "POST", "/api/v1/auth/logout-all", {
      headers: { authorization: `Bearer ${api.access_token}` },
    });
    assert.equal(all.status, 204);
    assert.equal((await getPage(t, "/account", revoked)).status, 303, "logout-all ends it");
  } finally {
    await t.close();
  }
});

Deno.test("sign-up creates the account through the API; a taken address shows the error next to the field", async () => {
  const t = await buildTestApp();
  try {
    const form = await getPage(t, "/account/sign-up");
    assert.equal(form.status, 200);
    const anonymous = form.headers.getSetCookie()[0].split(";")[0];
    const html = await form.text();
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1];
    const email = uniqueEmail("signup");
    let res = await postForm(t, "/account/sign-up", anonymous, {
      _csrf,
      email,
      password: STRONG_PASSWORD,
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Check your inbox/);
    await login(t, email);
    res = await postForm(t, "/account/sign-up", anonymous, {
      _csrf,
      email,
      password: STRONG_PASSWORD,
    });
    assert.equal(res.status, 409);
    assert.match(await res.text(), /already registered/);
  } finally {
    await t.close();
  }
});

Deno.test("a stale session is sent to reauthenticate, and comes back to finish the change", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({ STEP_UP_MAX_AGE: "60" }, { clock });
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    clock.advance(120_000);
    const fields = { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD };
    let res = await postForm(t, "/account/password", cookie, {
      _csrf: await csrfFor(t, cookie),
      ...fields,
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/account/reauthenticate?next=%2Faccount");
    res = await postForm(t, "/account/reauthenticate", cookie, {
      _csrf: await csrfFor(t, cookie),
      password: STRONG_PASSWORD,
      next: "/account",
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/account?done=reauthenticated");
    res = await postForm(t, "/account/password", cookie, {
      _csrf: await csrfFor(t, cookie),
      ...fields,
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/account?done=password");
  } finally {
    await t.close();
  }
});

Deno.test("signing out of an expired session clears the cookie without a CSRF refusal, and signing in again ends the browser's previous session", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const token = await csrfFor(t, cookie);
    clock.advance(CONSOLE_IDLE_MS.user + 1000);
    const out = await postForm(t, "/account/sign-out", cookie, { _csrf: token });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get("location"), "/account/sign-in");
    assert.match(out.headers.getSetCookie().join(), /__Host-citadel_console=;/);

    const first = await signIn(t, user.email);
    const other = await registerUser(t);
    // The same browser signs in as another account: its old session ends.
    const form = await getPage(t, "/account/sign-in", first);
    assert.equal(form.status, 303, "a signed-in browser is sent to its account");
    const second = await signIn(t, other.email);
    assert.equal((await getPage(t, "/account", second)).status, 200);
    const res = await postForm(t, "/account/sign-in", first, {
      _csrf: await csrfFor(t, first),
      email: other.email,
      password: STRONG_PASSWORD,
    });
    assert.equal(res.status, 303);
    assert.equal((await getPage(t, "/account", first)).status, 303, "the old session ended");
  } finally {
    await t.close();
  }
});

Deno.test("a user promoted to admin gets the admin idle limit at once", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    await t.deps.db.updateTable("users").set({ role: "admin" }).where("id", "=", user.id).execute();
    clock.advance(CONSOLE_IDLE_MS.admin + 1000);
    assert.equal((await getPage(t, "/account", cookie)).status, 303);
  } finally {
    await t.close();
  }
});
