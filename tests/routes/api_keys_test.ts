import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import {
  API_KEY_PATTERN,
  generateApiKey,
  isWellFormedApiKey,
} from "../../src/lib/api_key_format.ts";
import { buildTestApp, request, tempDir, type TestApp } from "../support/helpers.ts";
import { adminSession, authed, login, registerUser } from "../support/auth_support.ts";

async function createKey(t: TestApp, token: string, body: Record<string, unknown>) {
  const res = await authed(t, "POST", "/api/v1/api-keys", token, body);
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json() as {
    api_key: { id: string; prefix: string; scopes: string[] };
    key: string;
  };
}

function withKey(
  t: TestApp,
  method: string,
  path: string,
  key: string,
  body?: unknown,
  header = "x-api-key",
) {
  const value = header === "authorization" ? `Bearer ${key}` : key;
  return request(t.app, method, path, { body, headers: { [header]: value } });
}

async function userWithToken(t: TestApp) {
  const user = await registerUser(t);
  return { user, token: (await login(t, user.email)).access_token };
}

Deno.test("generateApiKey() produces scanner-recognisable keys with a valid checksum", () => {
  for (let i = 0; i < 50; i++) {
    const key = generateApiKey();
    assert.match(key, API_KEY_PATTERN);
    assert.ok(isWellFormedApiKey(key));
    const last = key.at(-1)!;
    const typo = key.slice(0, -1) + (last === "a" ? "b" : "a");
    assert.ok(!isWellFormedApiKey(typo));
    const middle = key.slice(0, 10) + (key[10] === "x" ? "y" : "x") + key.slice(11);
    assert.ok(!isWellFormedApiKey(middle));
  }
});

Deno.test("POST /api-keys returns the secret once; listings never show it", async () => {
  const t = await buildTestApp();
  try {
    const { token } = await userWithToken(t);
    const created = await createKey(t, token, {
      name: "ci",
      scopes: ["me:read"],
      expires_in_days: 30,
    });
    assert.match(created.key, API_KEY_PATTERN);
    assert.ok(created.key.startsWith(created.api_key.prefix));
    for (
      const field of ["id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at"]
    ) {
      assert.ok(field in created.api_key, field);
    }
    const list = await (await authed(t, "GET", "/api/v1/api-keys", token)).json();
    assert.equal(list.api_keys.length, 1);
    assert.ok(!JSON.stringify(list).includes(created.key.slice(12)));
    const me = await (await withKey(t, "GET", "/api/v1/me", created.key)).json();
    assert.ok(!JSON.stringify(me).includes(created.key.slice(12)));
    await t.deps.logger.flush();
    assert.ok(!t.logs.join("\n").includes(created.key.slice(12)), "the key never reaches a log");
  } finally {
    await t.close();
  }
});

Deno.test("an API key authenticates through Bearer and X-API-Key as its owner", async () => {
  const t = await buildTestApp();
  try {
    const { user, token } = await userWithToken(t);
    const { key } = await createKey(t, token, { name: "svc", scopes: ["me:read"] });
    for (const header of ["authorization", "x-api-key"]) {
      const res = await withKey(t, "GET", "/api/v1/me", key, undefined, header);
      assert.equal(res.status, 200, header);
      assert.equal((await res.json()).user.id, user.id);
    }
  } finally {
    await t.close();
  }
});

Deno.test("scopes restrict what a key may do", async () => {
  const t = await buildTestApp();
  try {
    const { token } = await userWithToken(t);
    const admin = await adminSession(t, "admin");
    const readOnly = (await createKey(t, token, { name: "r", scopes: ["me:read"] })).key;
    const keysRead = (await createKey(t, token, { name: "k", scopes: ["api_keys:read"] })).key;
    const adminKey =
      (await createKey(t, admin.tokens.access_token, { name: "a", scopes: ["admin:read"] })).key;
    const cases: Array<[string, string, string, unknown, number, string?]> = [
      [readOnly, "GET", "/api/v1/me", undefined, 200],
      [readOnly, "PATCH", "/api/v1/me", { name: "x" }, 403, "insufficient_scope"],
      [readOnly, "GET", "/api/v1/api-keys", undefined, 403, "insufficient_scope"],
      [keysRead, "GET", "/api/v1/api-keys", undefined, 200],
      [
        keysRead,
        "POST",
        "/api/v1/api-keys",
        { name: "n", scopes: ["me:read"] },
        403,
        "insufficient_scope",
      ],
      [keysRead, "GET", "/api/v1/me", undefined, 403, "insufficient_scope"],
      [readOnly, "GET", "/api/v1/admin/users", undefined, 403, "forbidden"],
      [adminKey, "GET", "/api/v1/admin/users", undefined, 200],
      [
        adminKey,
        "DELETE",
        `/api/v1/admin/users/${admin.user.id}`,
        undefined,
        403,
        "insufficient_scope",
      ],
    ];
    for (const [key, method, path, body, status, code] of cases) {
      const res = await withKey(t, method, path, key, body);
      assert.equal(res.status, status, `${method} ${path}`);
      const json = await res.json();
      if (code) assert.equal(json.code, code, `${method} ${path}`);
    }
    const escalate = await authed(t, "POST", "/api/v1/api-keys", token, {
      name: "sneaky",
      scopes: ["admin:read"],
    });
    assert.equal(escalate.status, 422, "admin scopes only for admin owners");
    await escalate.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("keys must expire within API_KEY_MAX_LIFETIME_DAYS", async () => {
  const t = await buildTestApp({ API_KEY_MAX_LIFETIME_DAYS: "365" });
  try {
    const { token } = await userWithToken(t);
    for (const expires of [366, null, 0, "never"]) {
      const res = await authed(t, "POST", "/api/v1/api-keys", token, {
        name: "long",
        scopes: ["me:read"],
        expires_in_days: expires,
      });
      assert.equal(res.status, 422, String(expires));
      const body = await res.json();
      assert.equal(body.errors[0].field, "expires_in_days");
    }
    await createKey(t, token, { name: "max", scopes: ["me:read"], expires_in_days: 365 });
  } finally {
    await t.close();
  }
});

Deno.test("expired, revoked and disabled-owner keys get 401 invalid_api_key", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const { user, token } = await userWithToken(t);
    const shortLived = await createKey(t, token, {
      name: "s",
      scopes: ["me:read"],
      expires_in_days: 1,
    });
    const revoked = await createKey(t, token, { name: "r", scopes: ["me:read"] });
    assert.equal((await withKey(t, "GET", "/api/v1/me", revoked.key)).status, 200);
    const del = await authed(t, "DELETE", `/api/v1/api-keys/${revoked.api_key.id}`, token);
    assert.equal(del.status, 204);
    const afterRevoke = await withKey(t, "GET", "/api/v1/me", revoked.key);
    assert.equal(afterRevoke.status, 401);
    assert.equal((await afterRevoke.json()).code, "invalid_api_key");

    clock.advance(86_400_000 + 1000);
    const expired = await withKey(t, "GET", "/api/v1/me", shortLived.key);
    assert.equal(expired.status, 401);
    assert.equal((await expired.json()).code, "invalid_api_key");

    const live = await createKey(t, (await login(t, user.email)).access_token, {
      name: "l",
      scopes: ["me:read"],
    });
    await t.deps.db.updateTable("users").set({ status: "disabled" }).where("id", "=", user.id)
      .execute();
    clock.advance(1000); // past the in-memory cache
    const disabled = await withKey(t, "GET", "/api/v1/me", live.key);
    assert.equal(disabled.status, 401);
    assert.equal((await disabled.json()).code, "invalid_api_key");
  } finally {
    await t.close();
  }
});

Deno.test("rotation issues a new secret and keeps the old one only for the overlap", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const { user, token } = await userWithToken(t);
    const original = await createKey(t, token, { name: "rot", scopes: ["me:read"] });
    const res = await authed(t, "POST", `/api/v1/api-keys/${original.api_key.id}/rotate`, token, {
      overlap_hours: 2,
    });
    assert.equal(res.status, 200);
    const rotated = await res.json();
    assert.notEqual(rotated.key, original.key);
    assert.equal(rotated.api_key.id, original.api_key.id);
    assert.equal((await withKey(t, "GET", "/api/v1/me", original.key)).status, 200);
    assert.equal((await withKey(t, "GET", "/api/v1/me", rotated.key)).status, 200);
    clock.advance(2 * 3_600_000 + 1000);
    assert.equal((await withKey(t, "GET", "/api/v1/me", original.key)).status, 401);
    assert.equal((await withKey(t, "GET", "/api/v1/me", rotated.key)).status, 200);

    const fresh = (await login(t, user.email)).access_token; // the first token has expired
    const path = `/api/v1/api-keys/${original.api_key.id}/rotate`;
    const immediate = await authed(t, "POST", path, fresh, { overlap_hours: 0 });
    assert.equal(immediate.status, 200);
    const third = await immediate.json();
    assert.equal((await withKey(t, "GET", "/api/v1/me", rotated.key)).status, 401);
    assert.equal((await withKey(t, "GET", "/api/v1/me", third.key)).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("a key with a bad checksum is refused before any database lookup", async () => {
  const t = await buildTestApp();
  const { token } = await userWithToken(t);
  const { key } = await createKey(t, token, { name: "c", scopes: ["me:read"] });
  await t.deps.db.destroy(); // any lookup would now fail with a 500
  const typo = key.slice(0, 20) + (key[20] === "A" ? "B" : "A") + key.slice(21);
  const res = await withKey(t, "GET", "/api/v1/me", typo);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "invalid_api_key");
  await t.close().catch(() => {});
});

Deno.test("the database file holds no plaintext key", async () => {
  await using dir = await tempDir();
  const t = await buildTestApp({ DATABASE_URL: `file:${dir.path}/keys.db` });
  let key: string;
  try {
    const { token } = await userWithToken(t);
    key = (await createKey(t, token, { name: "p", scopes: ["me:read"] })).key;
  } finally {
    await t.close();
  }
  const secretPart = key.slice(12);
  for await (const entry of Deno.readDir(dir.path)) {
    const bytes = await Deno.readFile(`${dir.path}/${entry.name}`);
    assert.ok(!new TextDecoder("latin1").decode(bytes).includes(secretPart), entry.name);
  }
});

Deno.test("admins list every key and revoke any; others cannot", async () => {
  const t = await buildTestApp();
  try {
    const { token } = await userWithToken(t);
    const created = await createKey(t, token, { name: "victim", scopes: ["me:read"] });
    const admin = await adminSession(t, "admin");
    const list = await authed(t, "GET", "/api/v1/admin/api-keys", admin.tokens.access_token);
    assert.equal(list.status, 200);
    const body = await list.json();
    assert.ok(body.api_keys.some((k: { id: string }) => k.id === created.api_key.id));
    const denied = await authed(t, "DELETE", `/api/v1/admin/api-keys/${created.api_key.id}`, token);
    assert.equal(denied.status, 403);
    const del = await authed(
      t,
      "DELETE",
      `/api/v1/admin/api-keys/${created.api_key.id}`,
      admin.tokens.access_token,
    );
    assert.equal(del.status, 204);
    assert.equal((await withKey(t, "GET", "/api/v1/me", created.key)).status, 401);
    const other = await authed(
      t,
      "DELETE",
      `/api/v1/api-keys/${created.api_key.id}`,
      admin.tokens.access_token,
    );
    assert.equal(other.status, 404, "a user's own-key route never reaches another's key");
  } finally {
    await t.close();
  }
});

Deno.test("last_used_at is written at most once a minute per key", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const { token } = await userWithToken(t);
    const { key, api_key } = await createKey(t, token, { name: "u", scopes: ["me:read"] });
    const lastUsed = async () =>
      (await t.deps.db.selectFrom("api_keys").select("last_used_at").where("id", "=", api_key.id)
        .executeTakeFirstOrThrow()).last_used_at;
    await withKey(t, "GET", "/api/v1/me", key);
    await new Promise((r) => setTimeout(r, 20));
    const first = await lastUsed();
    assert.equal(first, clock.now());
    clock.advance(30_000);
    await withKey(t, "GET", "/api/v1/me", key);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await lastUsed(), first);
    clock.advance(31_000);
    await withKey(t, "GET", "/api/v1/me", key);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await lastUsed(), clock.now());
  } finally {
    await t.close();
  }
});
