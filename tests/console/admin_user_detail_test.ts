/**
 * `/admin/users/:id` and its actions, each checked against what the API says afterwards:
 * disable and enable (the user's console session and API token stop working), role, revoke
 * sessions (and keys), reset MFA, and the API's own refusals shown on the page (least
 * privilege, super-admin-only operations, step-up).
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { authed, login, registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import { consoleAdmin, csrfOf, getPage, postForm, signIn } from "../support/console_support.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";
import { mfaUser, midStepMs } from "../support/mfa_support.ts";
import { STEP_UP_MAX_AGE_MS } from "../support/step_up_support.ts";

type Admin = Awaited<ReturnType<typeof consoleAdmin>>;

/** POSTs an action of the detail page with the page's own CSRF token. */
async function act(t: TestApp, admin: Admin, userId: string, action: string, fields = {}) {
  const page = await getPage(t, `/admin/users/${userId}`, admin.cookie);
  assert.equal(page.status, 200);
  return await postForm(t, `/admin/users/${userId}/${action}`, admin.cookie, {
    _csrf: csrfOf(await page.text()),
    ...fields,
  });
}

/** The user as the admin API answers it. */
async function apiUser(t: TestApp, admin: Admin, id: string) {
  const token = (await login(t, admin.email)).access_token;
  const res = await authed(t, "GET", `/api/v1/admin/users/${id}`, token);
  assert.equal(res.status, 200);
  return (await res.json()).user as { status: string; role: string; mfa_enabled: boolean };
}

/** Follows a successful action's redirect and answers the page it lands on. */
async function landed(t: TestApp, admin: Admin, res: Response, path: string, done: string) {
  assert.equal(res.status, 303, await res.clone().text());
  assert.equal(res.headers.get("location"), `${path}?done=${done}`);
  const page = await getPage(t, res.headers.get("location")!, admin.cookie);
  assert.equal(page.status, 200);
  return await page.text();
}

Deno.test("disable: the API says disabled, the user's console session and API token stop working; enable brings the account back", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const user = await registerUser(t);
    const userCookie = await signIn(t, user.email);
    const userToken = (await login(t, user.email)).access_token;
    assert.equal((await getPage(t, "/account", userCookie)).status, 200);
    assert.equal((await authed(t, "GET", "/api/v1/me", userToken)).status, 200);

    const path = `/admin/users/${user.id}`;
    const html = await landed(
      t,
      admin,
      await act(t, admin, user.id, "status", { status: "disabled" }),
      path,
      "disabled",
    );
    assert.ok(html.includes("The account is disabled and its sessions are signed out."));
    assert.ok(html.includes("Enable account"));
    assert.equal((await apiUser(t, admin, user.id)).status, "disabled");
    const account = await getPage(t, "/account", userCookie);
    assert.equal(account.status, 303, "the user's console session is over");
    assert.match(account.headers.get("location") ?? "", /^\/account\/sign-in/);
    assert.equal((await authed(t, "GET", "/api/v1/me", userToken)).status, 401);
    const events = await t.deps.db.selectFrom("audit_events").select(["actor_id", "outcome"])
      .where("action", "=", "user.disabled").where("target_id", "=", user.id).execute();
    assert.deepEqual(events, [{ actor_id: admin.id, outcome: "success" }], "audited as the admin");

    await landed(
      t,
      admin,
      await act(t, admin, user.id, "status", { status: "active" }),
      path,
      "enabled",
    );
    assert.equal((await apiUser(t, admin, user.id)).status, "active");
    assert.equal((await getPage(t, "/account", await signIn(t, user.email))).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("a super admin changes a role; an admin sees the API refuse it, and the role stays", async () => {
  const t = await buildTestApp();
  try {
    const superAdmin = await consoleAdmin(t, "super_admin");
    const admin = await consoleAdmin(t, "admin");
    const user = await registerUser(t);

    const refused = await act(t, admin, user.id, "role", { role: "admin" });
    const page = await refused.text();
    assert.equal(refused.status, 403);
    assert.ok(page.includes("You do not have permission to do this"), "the API's detail");
    assert.ok(page.includes(user.email), "on the user's page");
    assert.equal((await apiUser(t, superAdmin, user.id)).role, "user");

    await landed(
      t,
      superAdmin,
      await act(t, superAdmin, user.id, "role", { role: "admin" }),
      `/admin/users/${user.id}`,
      "role",
    );
    assert.equal((await apiUser(t, superAdmin, user.id)).role, "admin");
  } finally {
    await t.close();
  }
});

Deno.test("an admin cannot disable, sign out or change a super admin: the API's rule shows and nothing changes", async () => {
  const t = await buildTestApp();
  try {
    const superAdmin = await consoleAdmin(t, "super_admin");
    const admin = await consoleAdmin(t, "admin");
    for (
      const [action, fields] of [
        ["status", { status: "disabled" }],
        ["role", { role: "user" }],
        ["revoke-sessions", {}],
      ] as const
    ) {
      const res = await act(t, admin, superAdmin.id, action, fields);
      const html = await res.text();
      assert.equal(res.status, 403, action);
      assert.ok(html.includes("You do not have permission to do this"), action);
      assert.match(html, /role="alert"/, `${action}: announced`);
    }
    const after = await apiUser(t, superAdmin, superAdmin.id);
    assert.deepEqual([after.status, after.role], ["active", "super_admin"]);
    assert.equal((await getPage(t, "/admin/users", superAdmin.cookie)).status, 200, "still in");
  } finally {
    await t.close();
  }
});

Deno.test("revoke sessions ends the user's sessions, and with the box ticked their API keys", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const user = await registerUser(t);
    const token = (await login(t, user.email)).access_token;
    const created = await authed(t, "POST", "/api/v1/api-keys", token, {
      name: "ci",
      scopes: ["me:read"],
    });
    const { key } = await created.json() as { key: string };
    const userCookie = await signIn(t, user.email);
    const path = `/admin/users/${user.id}`;

    await landed(t, admin, await act(t, admin, user.id, "revoke-sessions"), path, "sessions");
    assert.equal((await authed(t, "GET", "/api/v1/me", token)).status, 401, "token revoked");
    assert.equal((await getPage(t, "/account", userCookie)).status, 303, "console session over");
    assert.equal((await authed(t, "GET", "/api/v1/me", key)).status, 200, "the key still works");

    const html = await landed(
      t,
      admin,
      await act(t, admin, user.id, "revoke-sessions", { revoke_api_keys: "on" }),
      path,
      "sessions",
    );
    assert.equal((await authed(t, "GET", "/api/v1/me", key)).status, 401, "the key is revoked");
    assert.match(html, /revoked <time/, "the page lists the key as revoked");
  } finally {
    await t.close();
  }
});

Deno.test("reset MFA: a super admin turns the user's second factor off; an admin gets the API's 403", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const superAdmin = await consoleAdmin(t, "super_admin");
    const admin = await consoleAdmin(t, "admin");
    const user = await mfaUser(t, clock);
    const page = await (await getPage(t, `/admin/users/${user.id}`, admin.cookie)).text();
    assert.ok(page.includes("on (10 recovery codes left)"), "the MFA state");
    assert.ok(page.includes(`action="/admin/users/${user.id}/mfa-reset"`));

    const refused = await act(t, admin, user.id, "mfa-reset");
    assert.equal(refused.status, 403);
    assert.ok((await refused.text()).includes("You do not have permission to do this"));
    assert.equal((await apiUser(t, superAdmin, user.id)).mfa_enabled, true);

    const html = await landed(
      t,
      superAdmin,
      await act(t, superAdmin, user.id, "mfa-reset"),
      `/admin/users/${user.id}`,
      "mfa",
    );
    assert.ok(html.includes("The second factor is removed."));
    assert.equal((await apiUser(t, superAdmin, user.id)).mfa_enabled, false);
    assert.ok(!html.includes("mfa-reset"), "no reset offered once MFA is off");
  } finally {
    await t.close();
  }
});

Deno.test("step-up: a write after STEP_UP_MAX_AGE shows the link to reauthenticate back to this page and changes nothing; after it the write goes through", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const admin = await consoleAdmin(t, "admin");
    const user = await registerUser(t);
    clock.advance(STEP_UP_MAX_AGE_MS + 60_000);
    const res = await act(t, admin, user.id, "status", { status: "disabled" });
    const html = await res.text();
    assert.equal(res.status, 403);
    assert.ok(html.includes("This action needs a recent sign-in."));
    const next = encodeURIComponent(`/admin/users/${user.id}`);
    assert.ok(html.includes(`href="/account/reauthenticate?next=${next}"`), "the step-up link");
    assert.equal((await apiUser(t, admin, user.id)).status, "active");

    // The link's page confirms the password and comes back here, where the action now works.
    const step = await getPage(t, `/account/reauthenticate?next=${next}`, admin.cookie);
    assert.equal(step.status, 200);
    const confirmed = await postForm(t, "/account/reauthenticate", admin.cookie, {
      _csrf: csrfOf(await step.text()),
      next: `/admin/users/${user.id}`,
      password: STRONG_PASSWORD,
    });
    assert.equal(confirmed.status, 303);
    assert.equal(confirmed.headers.get("location"), `/admin/users/${user.id}`);
    await landed(
      t,
      admin,
      await act(t, admin, user.id, "status", { status: "disabled" }),
      `/admin/users/${user.id}`,
      "disabled",
    );
    assert.equal((await apiUser(t, admin, user.id)).status, "disabled");
  } finally {
    await t.close();
  }
});

Deno.test("the detail of an unknown or malformed id is the API's 404 page", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    for (const id of [crypto.randomUUID(), "..%2Fkeys", "not-a-user"]) {
      const res = await getPage(t, `/admin/users/${id}`, admin.cookie);
      const html = await res.text();
      assert.equal(res.status, 404, id);
      assert.ok(html.includes("No such user"), id);
    }
  } finally {
    await t.close();
  }
});
