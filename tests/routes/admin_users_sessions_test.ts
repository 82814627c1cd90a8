/**
 * `GET /api/v1/admin/users/:id/sessions`: a user's active sessions for admins (the console's
 * user page lists them); users are refused, unknown ids are 404, ended sessions are not listed.
 */
import assert from "node:assert/strict";
import { adminSession, authed, login, registerUser } from "../support/auth_support.ts";
import { getPage, signIn } from "../support/console_support.ts";
import { buildTestApp } from "../support/helpers.ts";

Deno.test("admins list a user's active sessions; users get 403; unknown ids 404; ended sessions are gone", async () => {
  const t = await buildTestApp();
  try {
    const admin = await adminSession(t, "admin");
    const user = await registerUser(t);
    const first = await login(t, user.email, undefined, "198.51.100.7");
    await login(t, user.email, undefined, "198.51.100.8");
    const path = `/api/v1/admin/users/${user.id}/sessions`;
    let res = await authed(t, "GET", path, admin.tokens.access_token);
    assert.equal(res.status, 200);
    const listed = (await res.json()).sessions as Array<{ ip: string; id: string }>;
    assert.deepEqual(listed.map((s) => s.ip).sort(), ["198.51.100.7", "198.51.100.8"]);

    const out = await authed(t, "POST", "/api/v1/auth/logout", first.access_token);
    assert.equal(out.status, 204);
    res = await authed(t, "GET", path, admin.tokens.access_token);
    assert.deepEqual((await res.json()).sessions.map((s: { ip: string }) => s.ip), [
      "198.51.100.8",
    ]);

    assert.equal((await authed(t, "GET", path, first.access_token)).status, 401);
    const other = await login(t, user.email);
    assert.equal((await authed(t, "GET", path, other.access_token)).status, 403);
    const unknown = `/api/v1/admin/users/${crypto.randomUUID()}/sessions`;
    assert.equal((await authed(t, "GET", unknown, admin.tokens.access_token)).status, 404);

    const cookie = await signIn(t, admin.user.email);
    const page = await (await getPage(t, `/admin/users/${user.id}`, cookie)).text();
    assert.match(page, /Active sessions/);
    assert.ok(page.includes("198.51.100.8"));
  } finally {
    await t.close();
  }
});
