import assert from "node:assert/strict";
import { buildTestApp, request } from "../support/helpers.ts";
import type { ManualClock } from "../../src/platform/clock.ts";
import { adminSession, authed, login, registerUser } from "../support/auth_support.ts";

Deno.test("GET /me shows a change made by another process within a second", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const { access_token } = await login(t, user.email);
    const me = async () => (await (await authed(t, "GET", "/api/v1/me", access_token)).json()).user;
    assert.equal((await me()).name, null);
    // Written behind this process's back, as another worker or a CLI command would.
    await t.deps.db.updateTable("users").set({ name: "Elsewhere" }).where("id", "=", user.id)
      .execute();
    assert.equal((await me()).name, null, "served from memory for up to a second");
    (t.clock as ManualClock).advance(1000);
    assert.equal((await me()).name, "Elsewhere");
  } finally {
    await t.close();
  }
});

Deno.test("this process's own changes show on the next GET /me at once: PATCH, login, admin", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const { access_token } = await login(t, user.email);
    const me = async (token = access_token) =>
      (await (await authed(t, "GET", "/api/v1/me", token)).json()).user;
    const before = await me();
    assert.equal(
      (await authed(t, "PATCH", "/api/v1/me", access_token, { name: "Mine" })).status,
      200,
    );
    assert.equal((await me()).name, "Mine");

    (t.clock as ManualClock).advance(5);
    const again = await login(t, user.email);
    assert.notEqual((await me(again.access_token)).last_login_at, before.last_login_at);

    const key = await (await authed(t, "POST", "/api/v1/api-keys", access_token, {
      name: "svc",
      scopes: ["me:read"],
    })).json();
    const viaKey = () => request(t.app, "GET", "/api/v1/me", { headers: { "x-api-key": key.key } });
    assert.equal((await viaKey()).status, 200);
    const admin = await adminSession(t, "super_admin");
    const disabled = await authed(
      t,
      "PATCH",
      `/api/v1/admin/users/${user.id}`,
      admin.tokens.access_token,
      {
        status: "disabled",
      },
    );
    assert.equal(disabled.status, 200);
    assert.equal((await viaKey()).status, 401, "the disabled owner's key is refused at once");
  } finally {
    await t.close();
  }
});
