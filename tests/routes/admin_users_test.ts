import assert from "node:assert/strict";
import { toBase64Url } from "../../src/lib/crypto.ts";
import { buildTestApp, request, TEST_SECRET, type TestApp } from "../support/helpers.ts";
import { adminSession, authed, login, registerUser, uniqueEmail } from "../support/auth_support.ts";

async function setup() {
  const t = await buildTestApp();
  const superAdmin = await adminSession(t, "super_admin");
  const admin = await adminSession(t, "admin");
  const user = await registerUser(t);
  const userTokens = await login(t, user.email);
  return { t, superAdmin, admin, user, userTokens };
}

async function status(res: Response): Promise<[number, string | undefined]> {
  const body = res.status === 204 ? undefined : await res.json();
  return [res.status, body?.code];
}

Deno.test("non-admins get 403 forbidden and anonymous callers 401 on admin routes", async () => {
  const { t, user, userTokens } = await setup();
  try {
    for (
      const [method, path] of [
        ["GET", "/api/v1/admin/users"],
        ["GET", `/api/v1/admin/users/${user.id}`],
        ["PATCH", `/api/v1/admin/users/${user.id}`],
        ["DELETE", `/api/v1/admin/users/${user.id}`],
        ["POST", `/api/v1/admin/users/${user.id}/revoke-sessions`],
      ]
    ) {
      const body = method === "GET" ? undefined : { status: "disabled" };
      const res = await authed(t, method, path, userTokens.access_token, body);
      assert.deepEqual(await status(res), [403, "forbidden"], `${method} ${path}`);
      const anon = await request(t.app, method, path);
      assert.equal(anon.status, 401, `${method} ${path} anonymous`);
      await anon.body?.cancel();
    }
  } finally {
    await t.close();
  }
});

Deno.test("a user with an unknown or missing role has no privileges", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const tokens = await login(t, user.email);
    const [header, payload] = tokens.access_token.split(".");
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
    for (const role of ["owner", "", "ADMIN", "superadmin", undefined]) {
      // Correctly signed with the server's own key: only the role string is off.
      const token = await signWithTestKey(header, { ...claims, role });
      const res = await authed(t, "GET", "/api/v1/admin/users", token);
      assert.ok([401, 403].includes(res.status), `role ${role}: ${res.status}`);
      await res.body?.cancel();
    }
  } finally {
    await t.close();
  }
});

async function signWithTestKey(header: string, claims: object): Promise<string> {
  const body = toBase64Url(new TextEncoder().encode(JSON.stringify(claims)));
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(TEST_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const input = `${header}.${body}`;
  const sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${toBase64Url(new Uint8Array(sig))}`;
}

Deno.test("admins list users with filters and cursor pagination", async () => {
  const { t, admin } = await setup();
  try {
    for (let i = 0; i < 5; i++) await registerUser(t, uniqueEmail("page"));
    const token = admin.tokens.access_token;
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const query: string = `?limit=2&email_prefix=page.${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await authed(t, "GET", `/api/v1/admin/users${query}`, token);
      assert.equal(res.status, 200);
      const body: { users: Array<{ id: string; email: string }>; next_cursor: string | null } =
        await res.json();
      assert.ok(body.users.length <= 2);
      for (const u of body.users) {
        assert.ok(u.email.startsWith("page."));
        assert.ok(!seen.has(u.id), "no duplicates across pages");
        seen.add(u.id);
      }
      cursor = body.next_cursor;
    } while (cursor);
    assert.equal(seen.size, 5);
    const admins = await (await authed(t, "GET", "/api/v1/admin/users?role=admin", token)).json();
    assert.ok(admins.users.every((u: { role: string }) => u.role === "admin"));
    const wildcard = await (await authed(t, "GET", "/api/v1/admin/users?email_prefix=%25", token))
      .json();
    assert.equal(wildcard.users.length, 0, "% is literal, not a wildcard");
    const bad = await authed(t, "GET", "/api/v1/admin/users?role=owner", token);
    assert.deepEqual(await status(bad), [422, "validation_failed"]);
  } finally {
    await t.close();
  }
});

Deno.test("disabling a user revokes their sessions at once", async () => {
  const { t, admin, user, userTokens } = await setup();
  try {
    const res = await authed(
      t,
      "PATCH",
      `/api/v1/admin/users/${user.id}`,
      admin.tokens.access_token,
      {
        status: "disabled",
      },
    );
    assert.equal(res.status, 200);
    assert.equal((await res.json()).user.status, "disabled");
    assert.equal((await authed(t, "GET", "/api/v1/me", userTokens.access_token)).status, 401);
    const refresh = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: userTokens.refresh_token },
    });
    assert.equal(refresh.status, 401);
  } finally {
    await t.close();
  }
});

Deno.test("an admin cannot modify, disable, delete or revoke a super admin, nor change roles", async () => {
  const { t, admin, superAdmin, user } = await setup();
  try {
    const token = admin.tokens.access_token;
    const target = `/api/v1/admin/users/${superAdmin.user.id}`;
    const cases: Array<[string, string, unknown]> = [
      ["PATCH", target, { status: "disabled" }],
      ["DELETE", target, undefined],
      ["POST", `${target}/revoke-sessions`, undefined],
      ["PATCH", `/api/v1/admin/users/${user.id}`, { role: "admin" }],
    ];
    for (const [method, path, body] of cases) {
      assert.deepEqual(await status(await authed(t, method, path, token, body)), [
        403,
        "forbidden",
      ]);
    }
    const still = await authed(t, "GET", "/api/v1/me", superAdmin.tokens.access_token);
    assert.equal(still.status, 200);
  } finally {
    await t.close();
  }
});

async function superAdminCount(t: TestApp) {
  return (await t.deps.db.selectFrom("users").select("id").where("role", "=", "super_admin")
    .where("status", "=", "active").execute()).length;
}

Deno.test("nobody can demote, disable or delete the last super admin", async () => {
  const { t, superAdmin } = await setup();
  try {
    assert.equal(await superAdminCount(t), 1);
    const token = superAdmin.tokens.access_token;
    const self = `/api/v1/admin/users/${superAdmin.user.id}`;
    for (
      const [method, body] of [["PATCH", { role: "admin" }], ["PATCH", { status: "disabled" }], [
        "DELETE",
        undefined,
      ]] as const
    ) {
      assert.deepEqual(await status(await authed(t, method, self, token, body)), [
        409,
        "last_super_admin",
      ]);
    }
    assert.equal(await superAdminCount(t), 1);
  } finally {
    await t.close();
  }
});

Deno.test("a super admin changes roles; the role change ends the target's sessions", async () => {
  const { t, superAdmin, user, userTokens } = await setup();
  try {
    const res = await authed(
      t,
      "PATCH",
      `/api/v1/admin/users/${user.id}`,
      superAdmin.tokens.access_token,
      { role: "admin" },
    );
    assert.equal(res.status, 200);
    assert.equal((await res.json()).user.role, "admin");
    assert.equal((await authed(t, "GET", "/api/v1/me", userTokens.access_token)).status, 401);
    const fresh = await login(t, user.email);
    const list = await authed(t, "GET", "/api/v1/admin/users", fresh.access_token);
    assert.equal(list.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("admins delete users and revoke sessions; unknown ids are 404", async () => {
  const { t, admin, user, userTokens } = await setup();
  try {
    const token = admin.tokens.access_token;
    const revoke = await authed(t, "POST", `/api/v1/admin/users/${user.id}/revoke-sessions`, token);
    assert.equal(revoke.status, 200);
    assert.equal((await revoke.json()).revoked, 1);
    assert.equal((await authed(t, "GET", "/api/v1/me", userTokens.access_token)).status, 401);
    assert.equal((await authed(t, "DELETE", `/api/v1/admin/users/${user.id}`, token)).status, 204);
    const gone = await authed(t, "GET", `/api/v1/admin/users/${user.id}`, token);
    assert.deepEqual(await status(gone), [404, "not_found"]);
    const notUuid = await authed(t, "GET", "/api/v1/admin/users/1", token);
    assert.equal(notUuid.status, 422);
    await notUuid.body?.cancel();
  } finally {
    await t.close();
  }
});
