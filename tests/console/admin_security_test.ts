/**
 * Attacks on the admin pages: stored XSS through a user's name and an API key's name (shown
 * escaped wherever an admin reads them), and cross-site form posts (no token, another
 * session's token, a foreign or missing Origin), which are refused and change nothing.
 */
import assert from "node:assert/strict";
import { authed, login, registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import { consoleAdmin, csrfOf, getPage, postForm } from "../support/console_support.ts";
import { buildTestApp } from "../support/helpers.ts";

const XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>";
const ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;";

Deno.test("a name and a key name made of markup are shown escaped on every admin page", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const user = await registerUser(t, undefined, STRONG_PASSWORD, XSS);
    const token = (await login(t, user.email)).access_token;
    const created = await authed(t, "POST", "/api/v1/api-keys", token, {
      name: XSS,
      scopes: ["me:read"],
    });
    assert.equal(created.status, 201, await created.clone().text());
    const stored = await t.deps.db.selectFrom("users").select("name").where("id", "=", user.id)
      .executeTakeFirstOrThrow();
    assert.equal(stored.name, XSS, "the API stored the markup as typed");

    for (
      const path of [
        "/admin/users",
        `/admin/users?email_prefix=${encodeURIComponent(user.email)}`,
        `/admin/users/${user.id}`,
        "/admin/api-keys",
        "/admin/audit",
      ]
    ) {
      const res = await getPage(t, path, admin.cookie);
      const html = await res.text();
      assert.equal(res.status, 200, path);
      assert.ok(!html.includes("<script>alert"), `${path}: no raw script tag`);
      assert.ok(!html.includes("<img"), `${path}: no raw img tag`);
      assert.ok(!/onerror=alert\(1\)>/.test(html.replaceAll("&gt;", "")), `${path}: no handler`);
      if (path !== "/admin/audit") assert.ok(html.includes(ESCAPED), `${path}: escaped text`);
    }
    // In the audit log the key's name is inside the event's JSON details, escaped the same way.
    const audit = await (await getPage(t, "/admin/audit?action=api_key.created", admin.cookie))
      .text();
    assert.ok(audit.includes(ESCAPED), "the audit details, escaped");
  } finally {
    await t.close();
  }
});

Deno.test("a POST without the CSRF token, with another session's token, or from another origin is refused 403 and changes nothing", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "super_admin");
    const other = await consoleAdmin(t, "super_admin");
    const user = await registerUser(t);
    const path = `/admin/users/${user.id}`;
    const own = csrfOf(await (await getPage(t, path, admin.cookie)).text());
    const others = csrfOf(await (await getPage(t, path, other.cookie)).text());
    assert.notEqual(own, others, "tokens are bound to their session");

    const attempts: Array<[string, Promise<Response>]> = [
      ["no token", postForm(t, `${path}/status`, admin.cookie, { status: "disabled" })],
      [
        "another session's token",
        postForm(t, `${path}/status`, admin.cookie, { _csrf: others, status: "disabled" }),
      ],
      [
        "a foreign Origin",
        postForm(t, `${path}/role`, admin.cookie, { _csrf: own, role: "super_admin" }, {
          origin: "https://evil.example",
        }),
      ],
      [
        "no Origin",
        postForm(t, `${path}/revoke-sessions`, admin.cookie, { _csrf: own }, { origin: null }),
      ],
    ];
    const userToken = (await login(t, user.email)).access_token;
    for (const [name, attempt] of attempts) {
      const res = await attempt;
      assert.equal(res.status, 403, name);
      await res.body?.cancel();
    }
    const row = await t.deps.db.selectFrom("users").select(["status", "role"])
      .where("id", "=", user.id).executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: "active", role: "user" });
    assert.equal((await authed(t, "GET", "/api/v1/me", userToken)).status, 200, "still signed in");
    const written = await t.deps.db.selectFrom("audit_events").select("action")
      .where("target_id", "=", user.id).where("action", "!=", "user.registered").execute();
    assert.deepEqual(written.filter((e) => !e.action.startsWith("auth.")), [], "nothing audited");

    // The same form with its own token and origin goes through.
    const ok = await postForm(t, `${path}/status`, admin.cookie, {
      _csrf: own,
      status: "disabled",
    });
    assert.equal(ok.status, 303);
  } finally {
    await t.close();
  }
});
