/**
 * Issue 14, items 1-4, 6, 12 and 13: every credential does only what it was granted.
 * Each test runs against the app served on a real loopback socket.
 */
import assert from "node:assert/strict";
import { type LoopbackApp, loopbackApp } from "../support/loopback_client.ts";
import { STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";

type Role = "user" | "admin" | "super_admin";

/** Registers an account with `role` and returns its id and a session access token. */
async function account(s: LoopbackApp, role: Role = "user") {
  const email = uniqueEmail(role);
  const reg = await s.json("POST", "/api/v1/auth/register", {
    body: { email, password: STRONG_PASSWORD },
  });
  assert.equal(reg.status, 201);
  const id = reg.body.user.id as string;
  if (role !== "user") {
    await s.t.deps.db.updateTable("users").set({ role }).where("id", "=", id).execute();
  }
  const login = await s.json("POST", "/api/v1/auth/login", {
    body: { email, password: STRONG_PASSWORD },
  });
  assert.equal(login.status, 200);
  return { id, email, token: login.body.access_token as string };
}

/** Creates an API key with `bearer` (a session or another key) and returns it. */
async function key(s: LoopbackApp, bearer: string, body: Record<string, unknown>) {
  const res = await s.json("POST", "/api/v1/api-keys", { bearer, body: { name: "k", ...body } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return {
    id: res.body.api_key.id as string,
    key: res.body.key as string,
    expiresAt: res.body.api_key.expires_at as string,
  };
}

Deno.test("every admin route refuses an admin's key that lacks its admin scope", async () => {
  await using s = await loopbackApp();
  const admin = await account(s, "admin");
  const victim = await account(s);
  const victimKey = await key(s, victim.token, { scopes: ["me:read"] });
  const meOnly = await key(s, admin.token, { scopes: ["me:read"] });
  const readOnly = await key(s, admin.token, { scopes: ["admin:read"] });
  const routes: Array<[string, string, "admin:read" | "admin:write", unknown?]> = [
    ["GET", "/api/v1/admin/audit", "admin:read"],
    ["GET", "/api/v1/admin/users", "admin:read"],
    ["GET", `/api/v1/admin/users/${victim.id}`, "admin:read"],
    ["GET", "/api/v1/admin/api-keys", "admin:read"],
    ["PATCH", `/api/v1/admin/users/${victim.id}`, "admin:write", { status: "disabled" }],
    ["POST", `/api/v1/admin/users/${victim.id}/revoke-sessions`, "admin:write", {}],
    ["PATCH", `/api/v1/admin/api-keys/${victimKey.id}`, "admin:write", {
      rate_limit_per_minute: 10,
    }],
    ["DELETE", `/api/v1/admin/api-keys/${victimKey.id}`, "admin:write"],
    ["DELETE", `/api/v1/admin/users/${victim.id}`, "admin:write"],
  ];
  for (const [method, path, scope, body] of routes) {
    const refused = await s.json(method, path, { bearer: meOnly.key, body });
    assert.equal(refused.status, 403, `${method} ${path} with me:read`);
    assert.equal(refused.body.code, "insufficient_scope");
    const withRead = await s.json(method, path, { bearer: readOnly.key, body });
    if (scope === "admin:read") assert.equal(withRead.status, 200, `${method} ${path}`);
    else assert.equal(withRead.status, 403, `${method} ${path} with admin:read`);
  }
  // A plain user's session and its broadest key are refused as forbidden: the role check
  // comes before any scope.
  const userKey = await key(s, victim.token, {
    scopes: ["me:read", "me:write", "api_keys:read", "api_keys:write"],
  });
  for (const bearer of [victim.token, userKey.key]) {
    for (const [method, path, , body] of routes) {
      const refused = await s.json(method, path, { bearer, body });
      assert.equal(refused.status, 403, `${method} ${path} as a user`);
      assert.equal(refused.body.code, "forbidden");
    }
  }
  const user = await s.json("GET", `/api/v1/admin/users/${victim.id}`, { bearer: admin.token });
  assert.equal(user.body.user.status, "active", "no refused write changed anything");
});

Deno.test("a key creates and rotates only keys within its own scopes, lifetime and limit", async () => {
  await using s = await loopbackApp();
  const admin = await account(s, "admin");
  const parent = await key(s, admin.token, {
    scopes: ["api_keys:write", "api_keys:read", "me:read"],
    expires_in_days: 10,
    rate_limit_per_minute: 50,
  });
  for (const scopes of [["admin:write"], ["me:read", "me:write"], ["admin:read"]]) {
    const res = await s.json("POST", "/api/v1/api-keys", {
      bearer: parent.key,
      body: { name: "escalate", scopes },
    });
    assert.equal(res.status, 403, scopes.join(","));
    assert.equal(res.body.code, "insufficient_scope");
  }
  const longer = await s.json("POST", "/api/v1/api-keys", {
    bearer: parent.key,
    body: { name: "longer", scopes: ["me:read"], expires_in_days: 30 },
  });
  assert.equal(longer.status, 422);
  assert.equal(longer.body.errors[0].field, "expires_in_days");
  const faster = await s.json("POST", "/api/v1/api-keys", {
    bearer: parent.key,
    body: { name: "faster", scopes: ["me:read"], rate_limit_per_minute: 51 },
  });
  assert.equal(faster.status, 422);
  assert.equal(faster.body.errors[0].field, "rate_limit_per_minute");

  // Within its grant it may; defaults never exceed the parent either.
  const child = await s.json("POST", "/api/v1/api-keys", {
    bearer: parent.key,
    body: { name: "child", scopes: ["me:read"] },
  });
  assert.equal(child.status, 201);
  assert.ok(Date.parse(child.body.api_key.expires_at) <= Date.parse(parent.expiresAt));
  assert.equal(child.body.api_key.rate_limit_per_minute, 50);

  // Rotation: a broader key of the same owner may not be rotated through the narrower one.
  const broad = await key(s, admin.token, { scopes: ["admin:write"] });
  const rotate = await s.json("POST", `/api/v1/api-keys/${broad.id}/rotate`, {
    bearer: parent.key,
    body: {},
  });
  assert.equal(rotate.status, 403);
  assert.equal(rotate.body.code, "insufficient_scope");
  const own = await s.json("POST", `/api/v1/api-keys/${child.body.api_key.id}/rotate`, {
    bearer: parent.key,
    body: {},
  });
  assert.equal(own.status, 200);
  const disable = await s.json("PATCH", `/api/v1/admin/users/${admin.id}`, {
    bearer: broad.key,
    body: { status: "active" },
  });
  assert.equal(disable.status, 200, "the broad key itself still works: it was not rotated");
});

Deno.test("logout and logout-all accept only session tokens and are rate limited per principal", async () => {
  await using s = await loopbackApp({ RATE_LIMIT_API_PER_MINUTE: "50" });
  const user = await account(s);
  const apiKey = await key(s, user.token, { scopes: ["me:read", "me:write"] });
  for (const path of ["/api/v1/auth/logout", "/api/v1/auth/logout-all"]) {
    const res = await s.json("POST", path, { bearer: apiKey.key });
    assert.equal(res.status, 403, path);
    assert.equal(res.body.code, "session_required");
  }
  const me = await s.call("GET", "/api/v1/me", { bearer: user.token });
  assert.equal(me.status, 200, "the session survived");
  await me.body?.cancel();
  const logout = await s.call("POST", "/api/v1/auth/logout", { bearer: user.token });
  assert.equal(logout.status, 204);
  assert.match(logout.headers.get("ratelimit-policy") ?? "", /"api";q=50;w=60/);
  await logout.body?.cancel();
});

Deno.test("an admin may not revoke or change a super admin's key; a super admin may", async () => {
  await using s = await loopbackApp();
  const admin = await account(s, "admin");
  const root = await account(s, "super_admin");
  const user = await account(s);
  const rootKey = await key(s, root.token, { scopes: ["me:read"] });
  const userKey = await key(s, user.token, { scopes: ["me:read"] });
  for (const method of ["DELETE", "PATCH"]) {
    const res = await s.json(method, `/api/v1/admin/api-keys/${rootKey.id}`, {
      bearer: admin.token,
      body: method === "PATCH" ? { rate_limit_per_minute: 1 } : undefined,
    });
    assert.equal(res.status, 403, method);
  }
  const stillWorks = await s.call("GET", "/api/v1/me", { bearer: rootKey.key });
  assert.equal(stillWorks.status, 200);
  await stillWorks.body?.cancel();
  const ofUser = await s.call("DELETE", `/api/v1/admin/api-keys/${userKey.id}`, {
    bearer: admin.token,
  });
  assert.equal(ofUser.status, 204);
  const bySuper = await s.call("DELETE", `/api/v1/admin/api-keys/${rootKey.id}`, {
    bearer: root.token,
  });
  assert.equal(bySuper.status, 204);
});

Deno.test("keys are capped in rate and number, and one budget covers all of a user's keys", async () => {
  await using s = await loopbackApp({
    API_KEY_RATE_LIMIT_PER_MINUTE: "5",
    API_KEYS_PER_USER_MAX: "2",
    RATE_LIMIT_API_PER_MINUTE: "8",
  });
  const admin = await account(s, "admin");
  const user = await account(s);
  const greedy = await s.json("POST", "/api/v1/api-keys", {
    bearer: user.token,
    body: { name: "greedy", scopes: ["me:read"], rate_limit_per_minute: 1_000_000 },
  });
  assert.equal(greedy.status, 422);
  assert.match(greedy.body.errors[0].message, /API_KEY_RATE_LIMIT_PER_MINUTE/);
  const a = await key(s, user.token, { scopes: ["me:read"] });
  const b = await key(s, user.token, { scopes: ["me:read"] });
  const third = await s.json("POST", "/api/v1/api-keys", {
    bearer: user.token,
    body: { name: "third", scopes: ["me:read"] },
  });
  assert.equal(third.status, 409);
  assert.equal(third.body.code, "api_key_limit_reached");

  // The session spent 4 of the user's 8 (greedy, a, b, third); the keys share the rest.
  const statuses = [];
  for (const k of [a, b, a, b, a]) {
    const res = await s.call("GET", "/api/v1/me", { bearer: k.key });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 429]);

  const raised = await s.json("PATCH", `/api/v1/admin/api-keys/${a.id}`, {
    bearer: admin.token,
    body: { rate_limit_per_minute: 1000 },
  });
  assert.equal(raised.status, 200);
  assert.equal(raised.body.api_key.rate_limit_per_minute, 1000);
});

Deno.test("a password change and an admin's revocation can end the user's API keys too", async () => {
  await using s = await loopbackApp();
  const admin = await account(s, "admin");
  const user = await account(s);
  const kept = await key(s, user.token, { scopes: ["me:read"] });
  const NEW_PASSWORD = "Velvet-Harbor-Comet-42!";
  const change = await s.call("POST", "/api/v1/me/password", {
    bearer: user.token,
    body: { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD },
  });
  assert.equal(change.status, 204);
  const keptWorks = await s.call("GET", "/api/v1/me", { bearer: kept.key });
  assert.equal(keptWorks.status, 200, "without revoke_api_keys the key keeps working");
  await keptWorks.body?.cancel();

  const change2 = await s.call("POST", "/api/v1/me/password", {
    bearer: user.token,
    body: {
      current_password: NEW_PASSWORD,
      new_password: STRONG_PASSWORD,
      revoke_api_keys: true,
    },
  });
  assert.equal(change2.status, 204);
  const ended = await s.json("GET", "/api/v1/me", { bearer: kept.key });
  assert.equal(ended.status, 401);

  const login = await s.json("POST", "/api/v1/auth/login", {
    body: { email: user.email, password: STRONG_PASSWORD },
  });
  const fresh = await key(s, login.body.access_token, { scopes: ["me:read"] });
  const revoke = await s.json("POST", `/api/v1/admin/users/${user.id}/revoke-sessions`, {
    bearer: admin.token,
    body: { revoke_api_keys: true },
  });
  assert.equal(revoke.status, 200);
  assert.equal(revoke.body.api_keys_revoked, 1);
  const gone = await s.call("GET", "/api/v1/me", { bearer: fresh.key });
  assert.equal(gone.status, 401);
  await gone.body?.cancel();
});

Deno.test("rotating twice keeps each old secret for its overlap; revoked keys stay listed 30 days", async () => {
  await using s = await loopbackApp();
  const user = await account(s);
  const clock = s.t.clock as import("../../src/platform/clock.ts").ManualClock;
  const k = await key(s, user.token, { scopes: ["me:read"] });
  const first = await s.json("POST", `/api/v1/api-keys/${k.id}/rotate`, {
    bearer: user.token,
    body: { overlap_hours: 2 },
  });
  clock.advance(3_600_000);
  // Access tokens live 15 minutes: each step after the clock moved signs in again.
  const session = async () =>
    (await s.json("POST", "/api/v1/auth/login", {
      body: { email: user.email, password: STRONG_PASSWORD },
    })).body.access_token as string;
  const second = await s.json("POST", `/api/v1/api-keys/${k.id}/rotate`, {
    bearer: await session(),
    body: { overlap_hours: 2 },
  });
  for (const [i, secret] of [k.key, first.body.key, second.body.key].entries()) {
    const res = await s.call("GET", "/api/v1/me", { bearer: secret });
    assert.equal(res.status, 200, `secret ${i} works inside its overlap window`);
    await res.body?.cancel();
  }
  clock.advance(3_600_000 + 1);
  const original = await s.call("GET", "/api/v1/me", { bearer: k.key });
  assert.equal(original.status, 401, "the first secret ends when its own window does");
  await original.body?.cancel();
  const middle = await s.call("GET", "/api/v1/me", { bearer: first.body.key });
  assert.equal(middle.status, 200);
  await middle.body?.cancel();

  const token = await session();
  const del = await s.call("DELETE", `/api/v1/api-keys/${k.id}`, { bearer: token });
  assert.equal(del.status, 204);
  const listed = await s.json("GET", "/api/v1/api-keys", { bearer: token });
  const row = listed.body.api_keys.find((r: { id: string }) => r.id === k.id);
  assert.ok(row?.revoked_at, "a revoked key is listed with revoked_at");
  clock.advance(31 * 86_400_000);
  const later = await s.json("GET", "/api/v1/api-keys", { bearer: await session() });
  assert.ok(!later.body.api_keys.some((r: { id: string }) => r.id === k.id));
});
