import assert from "node:assert/strict";
import type { ManualClock } from "../../src/platform/clock.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { authed, login, registerUser } from "../support/auth_support.ts";

async function keyFor(t: TestApp) {
  const user = await registerUser(t);
  const token = (await login(t, user.email)).access_token;
  const res = await authed(t, "POST", "/api/v1/api-keys", token, {
    name: "svc",
    scopes: ["me:read"],
  });
  assert.equal(res.status, 201);
  return (await res.json()) as { api_key: { id: string }; key: string };
}

const me = (t: TestApp, key: string) =>
  request(t.app, "GET", "/api/v1/me", { headers: { "x-api-key": key } });

Deno.test("a key in use is refused within 500 ms of its revocation by another process", async () => {
  const t = await buildTestApp();
  try {
    const { api_key, key } = await keyFor(t);
    assert.equal((await me(t, key)).status, 200);
    assert.equal((await me(t, key)).status, 200, "served from the remembered hash");
    // Revoked behind this process's back, as another worker or server would.
    await t.deps.db.updateTable("api_keys").set({ revoked_at: t.clock.now() })
      .where("id", "=", api_key.id).execute();
    (t.clock as ManualClock).advance(501);
    assert.equal((await me(t, key)).status, 401);
    assert.equal((await me(t, key)).status, 401, "and stays refused");
  } finally {
    await t.close();
  }
});

Deno.test("a remembered key does not make a near-identical one valid", async () => {
  const t = await buildTestApp();
  try {
    const { key } = await keyFor(t);
    assert.equal((await me(t, key)).status, 200);
    const body = key.slice(0, 20) + (key[20] === "x" ? "y" : "x") + key.slice(21);
    for (const forged of [body, `${key}x`, key.slice(0, -1), key.toUpperCase()]) {
      const res = await me(t, forged);
      assert.equal(res.status, 401, forged);
      await res.body?.cancel();
    }
    assert.equal((await me(t, key)).status, 200);
  } finally {
    await t.close();
  }
});
