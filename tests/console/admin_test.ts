/**
 * The admin console's pages as a whole: each renders real data for an administrator under the
 * nonce CSP and `no-store`; without a session they send to sign-in; a plain user gets the
 * API's 403 on every one; ADMIN_ALLOWED_IPS hides them like an unknown route.
 */
import assert from "node:assert/strict";
import { ASSET_HREF } from "../../src/console/assets.ts";
import { authed, login, registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import { consoleAdmin, csrfFor, getPage, postForm, signIn } from "../support/console_support.ts";
import { runCheck } from "../../src/cli/check.ts";
import { buildTestApp, request, tempDir, TEST_ENV, type TestApp } from "../support/helpers.ts";

async function createKey(t: TestApp, token: string, name: string) {
  const res = await authed(t, "POST", "/api/v1/api-keys", token, { name, scopes: ["me:read"] });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).api_key as { id: string; prefix: string };
}

/** Asserts the console page headers and answers the body. */
async function assertPage(res: Response, path: string, status = 200): Promise<string> {
  const html = await res.text();
  assert.equal(res.status, status, `${path}: ${html.slice(0, 300)}`);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/, path);
  assert.equal(res.headers.get("cache-control"), "no-store", path);
  const csp = res.headers.get("content-security-policy") ?? "";
  const nonce = /'nonce-([A-Za-z0-9_-]+)'/.exec(csp)?.[1];
  assert.ok(nonce, `${path}: the policy has a nonce`);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.ok(html.includes(`<script src="${ASSET_HREF.script}" nonce="${nonce}"`), `${path}: nonce`);
  assert.doesNotMatch(html, / on[a-z]+=|style=/, `${path}: no inline handler or style`);
  return html;
}

Deno.test("every admin page renders the API's data for a super admin, under the nonce CSP and no-store", async () => {
  await using dir = await tempDir();
  const t = await buildTestApp();
  try {
    // What `citadel serve` gives the app: the audit of a deployment (here a file database).
    const { report } = await runCheck({
      env: { ...TEST_ENV, DATABASE_URL: `file:${dir.path}/c.db` },
      cwd: dir.path,
    });
    t.deps.checkReport = () => Promise.resolve(report as unknown as Record<string, unknown>);
    const finding = report.findings[0];
    assert.ok(finding, "the test deployment has a finding to show");
    const admin = await consoleAdmin(t, "super_admin");
    const user = await registerUser(t, undefined, STRONG_PASSWORD, "Ada Lovelace");
    const key = await createKey(t, (await login(t, user.email)).access_token, "billing-sync");
    const expected: Array<[string, string[]]> = [
      ["/admin/users", [user.email, "Ada Lovelace", admin.email, `/admin/users/${user.id}`]],
      [`/admin/users/${user.id}`, [user.email, "Ada Lovelace", "billing-sync", key.prefix]],
      ["/admin/api-keys", [user.email, "billing-sync", key.prefix, "me:read"]],
      ["/admin/audit", ["user.registered", "api_key.created", "events verified."]],
      ["/admin/check", [finding.id, finding.severity, report.citadel_version, report.app_env]],
      ["/admin/signing-keys", ["HS256", "current"]],
    ];
    for (const [path, texts] of expected) {
      const html = await assertPage(await getPage(t, path, admin.cookie), path);
      for (const text of texts) assert.ok(html.includes(text), `${path} shows ${text}`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("GET /admin goes to the users, and without a session every admin page goes to sign-in", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const root = await getPage(t, "/admin", admin.cookie);
    assert.equal(root.status, 303);
    assert.equal(root.headers.get("location"), "/admin/users");
    const id = crypto.randomUUID();
    for (
      const path of [
        "/admin/users",
        `/admin/users/${id}`,
        "/admin/api-keys",
        "/admin/audit",
        "/admin/audit/export",
        "/admin/check",
        "/admin/signing-keys",
      ]
    ) {
      const res = await getPage(t, path);
      assert.equal(res.status, 303, path);
      assert.equal(
        res.headers.get("location"),
        `/account/sign-in?next=${encodeURIComponent(path)}`,
      );
      await res.body?.cancel();
    }
  } finally {
    await t.close();
  }
});

Deno.test("a signed-in user gets the API's 403 on every admin page and action, and nothing changes", async () => {
  const t = await buildTestApp();
  try {
    const target = await registerUser(t);
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    for (
      const path of [
        "/admin/users",
        `/admin/users/${target.id}`,
        "/admin/api-keys",
        "/admin/audit",
        "/admin/audit/export?format=csv",
        "/admin/check",
      ]
    ) {
      const html = await assertPage(await getPage(t, path, cookie), path, 403);
      assert.ok(html.includes("Not allowed"), path);
      assert.ok(html.includes("You do not have permission to do this"), `${path}: API's detail`);
    }
    const keys = await assertPage(await getPage(t, "/admin/signing-keys", cookie), "keys", 403);
    assert.ok(keys.includes("Only a super admin can see the signing keys."));

    const _csrf = await csrfFor(t, cookie);
    for (
      const [path, fields] of [
        [`/admin/users/${target.id}/status`, { status: "disabled" }],
        [`/admin/users/${target.id}/role`, { role: "super_admin" }],
        [`/admin/users/${target.id}/revoke-sessions`, {}],
      ] as const
    ) {
      const res = await postForm(t, path, cookie, { _csrf, ...fields });
      const html = await assertPage(res, path, 403);
      assert.ok(html.includes("Not allowed"), path);
    }
    const row = await t.deps.db.selectFrom("users").select(["status", "role"])
      .where("id", "=", target.id).executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: "active", role: "user" });
  } finally {
    await t.close();
  }
});

Deno.test("/admin/check says so where the deployment cannot run the check itself", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const html = await assertPage(await getPage(t, "/admin/check", admin.cookie), "", 503);
    assert.ok(html.includes("run `citadel check` on the host"), "the API's detail");
    assert.ok(!html.includes("<table"), "no report is made up");
  } finally {
    await t.close();
  }
});

Deno.test("an admin who is not a super admin sees the signing keys refused as the API refuses them", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const html = await assertPage(await getPage(t, "/admin/signing-keys", admin.cookie), "", 403);
    assert.ok(html.includes("Only a super admin can see the signing keys."));
    assert.ok(!html.includes("<table"), "no key is listed");
  } finally {
    await t.close();
  }
});

Deno.test("ADMIN_ALLOWED_IPS: outside the list /admin answers what an unknown route answers; inside it works", async () => {
  const t = await buildTestApp({ ADMIN_ALLOWED_IPS: "10.0.0.0/8" });
  try {
    const outside = "127.0.0.1";
    const inside = "10.1.2.3";
    const admin = await consoleAdmin(t, "super_admin", { ip: inside });
    const token = (await login(t, admin.email, STRONG_PASSWORD, inside)).access_token;
    const bearer = { authorization: `Bearer ${token}` };
    const shape = async (res: Response) => {
      const body = await res.json();
      delete body.request_id;
      return { status: res.status, type: res.headers.get("content-type"), body };
    };
    const unknown = await shape(await request(t.app, "GET", "/no-such-route", { ip: outside }));
    assert.equal(unknown.status, 404);
    for (const path of ["/admin", "/admin/users", "/admin/audit"]) {
      assert.deepEqual(
        await shape(await getPage(t, path, admin.cookie, { ip: outside })),
        unknown,
        path,
      );
    }
    assert.deepEqual(
      await shape(
        await request(t.app, "GET", "/api/v1/admin/users", { ip: outside, headers: bearer }),
      ),
      unknown,
    );
    const _csrf = await csrfFor(t, admin.cookie, { ip: inside });
    const post = await postForm(t, `/admin/users/${admin.id}/revoke-sessions`, admin.cookie, {
      _csrf,
    }, { ip: outside });
    assert.deepEqual(await shape(post), unknown, "a POST outside is not even read");

    const page = await getPage(t, "/admin/users", admin.cookie, { ip: inside });
    assert.ok((await assertPage(page, "inside")).includes(admin.email));
    const api = await request(t.app, "GET", "/api/v1/admin/users", { ip: inside, headers: bearer });
    assert.equal(api.status, 200);
    assert.ok((await api.json()).users.some((u: { id: string }) => u.id === admin.id));
  } finally {
    await t.close();
  }
});
