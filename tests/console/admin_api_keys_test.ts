/**
 * `/admin/api-keys`: everyone's keys with their owners, the owner and revoked filters, paging,
 * and revocation (here and from a user's page), checked against the API and the key itself.
 */
import assert from "node:assert/strict";
import { authed, login, registerUser } from "../support/auth_support.ts";
import { consoleAdmin, csrfOf, getPage, postForm } from "../support/console_support.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";

async function createKey(t: TestApp, email: string, name: string) {
  const token = (await login(t, email)).access_token;
  const res = await authed(t, "POST", "/api/v1/api-keys", token, {
    name,
    scopes: ["me:read"],
    expires_in_days: 30,
  });
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  return { ...body.api_key as { id: string; prefix: string }, key: body.key as string };
}

/** The key ids with a revoke form on a page. */
function revocable(html: string): string[] {
  return [...html.matchAll(/action="\/admin\/(?:users\/[0-9a-f-]+\/)?api-keys\/([^/"]+)\/revoke"/g)]
    .map((m) => m[1]);
}

Deno.test("/admin/api-keys lists everyone's keys with their owners, and revoking one ends it", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const alice = await registerUser(t);
    const bob = await registerUser(t);
    const a = await createKey(t, alice.email, "alice-ci");
    const b = await createKey(t, bob.email, "bob-sync");

    const res = await getPage(t, "/admin/api-keys", admin.cookie);
    const html = await res.text();
    assert.equal(res.status, 200);
    for (const text of [alice.email, bob.email, "alice-ci", "bob-sync", a.prefix, b.prefix]) {
      assert.ok(html.includes(text), text);
    }
    assert.ok(html.includes(`<a href="/admin/users/${alice.id}">${alice.email}</a>`), "owner");
    assert.deepEqual(revocable(html).sort(), [a.id, b.id].sort());
    assert.ok(!html.includes(a.key) && !html.includes(b.key), "never a secret");

    const revoked = await postForm(t, `/admin/api-keys/${a.id}/revoke`, admin.cookie, {
      _csrf: csrfOf(html),
    });
    assert.equal(revoked.status, 303);
    assert.equal(revoked.headers.get("location"), "/admin/api-keys?done=revoked");
    assert.equal((await authed(t, "GET", "/api/v1/me", a.key)).status, 401, "the key is dead");
    assert.equal((await authed(t, "GET", "/api/v1/me", b.key)).status, 200, "the other is not");

    const after = await (await getPage(t, "/admin/api-keys?done=revoked", admin.cookie)).text();
    assert.ok(after.includes("The API key is revoked."));
    assert.ok(!after.includes("alice-ci"), "revoked keys are hidden by default");
    const all = await (await getPage(t, "/admin/api-keys?include_revoked=true", admin.cookie))
      .text();
    assert.ok(all.includes("alice-ci") && /revoked <time/.test(all), "and shown on request");
    assert.deepEqual(revocable(all), [b.id], "a revoked key has no revoke button");
  } finally {
    await t.close();
  }
});

Deno.test("/admin/api-keys filters by owner and pages with the filters kept", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const owner = await registerUser(t);
    const other = await registerUser(t);
    const keys = [
      await createKey(t, owner.email, "k1"),
      await createKey(t, owner.email, "k2"),
      await createKey(t, owner.email, "k3"),
    ];
    await createKey(t, other.email, "not-listed");

    const seen: string[] = [];
    let path: string | undefined = `/admin/api-keys?user_id=${owner.id}&limit=2`;
    while (path) {
      const html = await (await getPage(t, path, admin.cookie)).text();
      assert.ok(!html.includes("not-listed"), "only the owner's keys");
      seen.push(...revocable(html));
      path = /<a href="([^"]+)" rel="next">/.exec(html)?.[1].replaceAll("&amp;", "&");
      if (path) assert.ok(path.includes(`user_id=${owner.id}`), "the next link keeps the owner");
    }
    assert.deepEqual(seen.sort(), keys.map((k) => k.id).sort());

    const bad = await getPage(t, "/admin/api-keys?user_id=someone", admin.cookie);
    assert.equal(bad.status, 422);
    assert.match(await bad.text(), /id="f-user_id-error"/, "the API's error next to the field");
  } finally {
    await t.close();
  }
});

Deno.test("an admin cannot revoke a super admin's key: the API's refusal shows and the key works", async () => {
  const t = await buildTestApp();
  try {
    const superAdmin = await consoleAdmin(t, "super_admin");
    const admin = await consoleAdmin(t, "admin");
    const key = await createKey(t, superAdmin.email, "root-key");
    const page = await (await getPage(t, "/admin/api-keys", admin.cookie)).text();
    const res = await postForm(t, `/admin/api-keys/${key.id}/revoke`, admin.cookie, {
      _csrf: csrfOf(page),
    });
    const html = await res.text();
    assert.equal(res.status, 403);
    assert.ok(html.includes("You do not have permission to do this"));
    assert.ok(html.includes("root-key"), "the list is shown again");
    assert.equal((await authed(t, "GET", "/api/v1/me", key.key)).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("a user's page lists their keys and revokes one", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const user = await registerUser(t);
    const key = await createKey(t, user.email, "deploy-bot");
    const path = `/admin/users/${user.id}`;
    const page = await (await getPage(t, path, admin.cookie)).text();
    assert.ok(page.includes("deploy-bot") && page.includes(key.prefix));
    assert.deepEqual(revocable(page), [key.id]);

    const res = await postForm(t, `${path}/api-keys/${key.id}/revoke`, admin.cookie, {
      _csrf: csrfOf(page),
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), `${path}?done=key`);
    assert.equal((await authed(t, "GET", "/api/v1/me", key.key)).status, 401);
    const after = await (await getPage(t, `${path}?done=key`, admin.cookie)).text();
    assert.ok(after.includes("The API key is revoked."));
    assert.deepEqual(revocable(after), [], "listed as revoked, without a button");
  } finally {
    await t.close();
  }
});
