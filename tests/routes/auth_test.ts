import assert from "node:assert/strict";
import { hash as bcryptHash } from "bcryptjs";
import { ManualClock } from "../../src/platform/clock.ts";
import { toBase64Url } from "../../src/lib/crypto.ts";
import { buildTestApp, request, TEST_SECRET } from "../support/helpers.ts";
import {
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../support/auth_support.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test("register() creates a user with a v4 UUID and never returns the hash", async () => {
  const t = await buildTestApp();
  try {
    const res = await request(t.app, "POST", "/api/v1/auth/register", {
      body: { email: "  Alice@Example.COM ", password: STRONG_PASSWORD, name: "Alice" },
    });
    assert.equal(res.status, 201);
    const { user } = await res.json();
    assert.match(user.id, UUID_V4);
    assert.equal(user.email, "alice@example.com");
    assert.equal(user.role, "user");
    assert.equal(user.status, "active");
    assert.equal(user.password_hash, undefined);
    const again = await request(t.app, "POST", "/api/v1/auth/register", {
      body: { email: "alice@example.com", password: STRONG_PASSWORD },
    });
    assert.equal(again.status, 409);
    assert.equal((await again.json()).code, "email_taken");
  } finally {
    await t.close();
  }
});

Deno.test("register() reports each invalid field and each policy violation", async () => {
  const t = await buildTestApp();
  try {
    const res = await request(t.app, "POST", "/api/v1/auth/register", {
      body: { email: "not-an-email", password: 123 },
    });
    assert.equal(res.status, 422);
    const body = await res.json();
    assert.equal(body.code, "validation_failed");
    const fields = body.errors.map((e: { field: string }) => e.field).sort();
    assert.deepEqual(fields, ["email", "password"]);

    const weak = await request(t.app, "POST", "/api/v1/auth/register", {
      body: { email: "bob@example.com", password: "12345" },
    });
    assert.equal(weak.status, 422);
    const problems = (await weak.json()).errors;
    assert.ok(problems.length >= 3, JSON.stringify(problems));
    assert.ok(problems.every((p: { field: string }) => p.field === "password"));
    assert.ok(problems.every((p: { message: string }) => p.message.length > 10));
  } finally {
    await t.close();
  }
});

Deno.test("register() answers 403 registration_disabled when REGISTRATION_ENABLED=false", async () => {
  const t = await buildTestApp({ REGISTRATION_ENABLED: "false" });
  try {
    const res = await request(t.app, "POST", "/api/v1/auth/register", {
      body: { email: uniqueEmail(), password: STRONG_PASSWORD },
    });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).code, "registration_disabled");
  } finally {
    await t.close();
  }
});

Deno.test("login() returns an RFC 6749 token response and /me works with it", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const tokens = await login(t, user.email);
    assert.equal(tokens.token_type, "Bearer");
    assert.equal(tokens.expires_in, 900);
    assert.ok(tokens.refresh_token.length >= 43);
    assert.equal(tokens.user.id, user.id);
    const me = await authed(t, "GET", "/api/v1/me", tokens.access_token);
    assert.equal(me.status, 200);
    assert.equal((await me.json()).user.id, user.id);
    const [, payload] = tokens.access_token.split(".");
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
    for (const claim of ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "role"]) {
      assert.ok(claim in claims, claim);
    }
    assert.equal(claims.sub, user.id);
    const header = JSON.parse(atob(tokens.access_token.split(".")[0]));
    assert.equal(header.alg, "HS256");
    assert.equal(typeof header.kid, "string");
  } finally {
    await t.close();
  }
});

Deno.test("login() gives the same 401 for unknown email, wrong password and disabled account", async () => {
  const t = await buildTestApp();
  try {
    const active = await registerUser(t);
    const disabled = await registerUser(t);
    await t.deps.db.updateTable("users").set({ status: "disabled" }).where("id", "=", disabled.id)
      .execute();
    const attempts = [
      { email: "nobody@example.com", password: STRONG_PASSWORD },
      { email: active.email, password: "Wrong-Password-123!" },
      { email: disabled.email, password: STRONG_PASSWORD },
    ];
    const bodies = [];
    for (const body of attempts) {
      const res = await request(t.app, "POST", "/api/v1/auth/login", { body });
      assert.equal(res.status, 401);
      const { request_id: _, ...rest } = await res.json();
      bodies.push(rest);
    }
    assert.equal(bodies[0].code, "invalid_credentials");
    assert.deepEqual(bodies[1], bodies[0]);
    assert.deepEqual(bodies[2], bodies[0]);
  } finally {
    await t.close();
  }
});

Deno.test("login() takes as long for an unknown email as for a wrong password (production argon2)", async () => {
  const t = await buildTestApp({ ARGON2_MEMORY_KIB: "19456", ARGON2_TIME_COST: "2" });
  try {
    const user = await registerUser(t);
    const timeLogin = async (email: string, ip: string) => {
      const started = performance.now();
      const res = await request(t.app, "POST", "/api/v1/auth/login", {
        body: { email, password: "Wrong-Password-123!" },
        ip,
      });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 401);
      await res.body?.cancel();
      return elapsed;
    };
    // Interleaved, so load on the machine weighs on both kinds of attempt alike.
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 22; i++) {
      const ip = `10.9.${i}.1`;
      const w = await timeLogin(user.email, ip);
      const u = await timeLogin("nobody-at-all@example.com", ip);
      if (i >= 2) { // the first rounds warm both paths up
        wrong.push(w);
        unknown.push(u);
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const ratio = median(unknown) / median(wrong);
    assert.ok(ratio > 0.75 && ratio < 1.25, `unknown/wrong = ${ratio.toFixed(2)}`);
    const stored = await t.deps.db.selectFrom("users").select("password_hash")
      .where("id", "=", user.id).executeTakeFirstOrThrow();
    assert.match(stored.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  } finally {
    await t.close();
  }
});

Deno.test("refresh() rotates, detects reuse and revokes the whole session", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const first = await login(t, user.email);
    const rotated = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: first.refresh_token },
    });
    assert.equal(rotated.status, 200);
    const second = await rotated.json();
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal((await authed(t, "GET", "/api/v1/me", second.access_token)).status, 200);

    clock.advance(11_000); // past the 10 s grace window
    const reuse = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: first.refresh_token },
    });
    assert.equal(reuse.status, 401);
    assert.equal((await reuse.json()).code, "refresh_token_reused");
    assert.equal((await authed(t, "GET", "/api/v1/me", second.access_token)).status, 401);
    const successor = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: second.refresh_token },
    });
    assert.equal(successor.status, 401, "the legitimate successor dies with the session");
  } finally {
    await t.close();
  }
});

Deno.test("refresh() retried inside the grace window returns the same successor pair", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const first = await login(t, user.email);
    const send = () =>
      request(t.app, "POST", "/api/v1/auth/refresh", {
        body: { refresh_token: first.refresh_token },
      });
    const [a, b] = await Promise.all([send(), send()]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const [pairA, pairB] = [await a.json(), await b.json()];
    assert.equal(pairA.refresh_token, pairB.refresh_token);
    assert.equal(pairA.access_token, pairB.access_token);
    clock.advance(5_000);
    const late = await (await send()).json();
    assert.equal(late.refresh_token, pairA.refresh_token);
    assert.equal((await authed(t, "GET", "/api/v1/me", late.access_token)).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("logout() ends that session at once; logout-all ends every session", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const a = await login(t, user.email);
    const b = await login(t, user.email);
    const c = await login(t, user.email);
    assert.equal((await authed(t, "POST", "/api/v1/auth/logout", a.access_token)).status, 204);
    assert.equal((await authed(t, "GET", "/api/v1/me", a.access_token)).status, 401);
    const refreshA = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: a.refresh_token },
    });
    assert.equal(refreshA.status, 401);
    assert.equal((await authed(t, "GET", "/api/v1/me", b.access_token)).status, 200);
    assert.equal((await authed(t, "POST", "/api/v1/auth/logout-all", b.access_token)).status, 204);
    for (const tokens of [b, c]) {
      assert.equal((await authed(t, "GET", "/api/v1/me", tokens.access_token)).status, 401);
    }
  } finally {
    await t.close();
  }
});

Deno.test("changing the password revokes every other session and keeps the current one", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const current = await login(t, user.email);
    const other = await login(t, user.email);
    const newPassword = "Velvet-Compass-Thunder-38?";
    const wrong = await authed(t, "POST", "/api/v1/me/password", current.access_token, {
      current_password: "Not-The-Password-1!",
      new_password: newPassword,
    });
    assert.equal(wrong.status, 422);
    const res = await authed(t, "POST", "/api/v1/me/password", current.access_token, {
      current_password: STRONG_PASSWORD,
      new_password: newPassword,
    });
    assert.equal(res.status, 204);
    assert.equal((await authed(t, "GET", "/api/v1/me", other.access_token)).status, 401);
    assert.equal((await authed(t, "GET", "/api/v1/me", current.access_token)).status, 200);
    await login(t, user.email, newPassword);
  } finally {
    await t.close();
  }
});

Deno.test("/me/sessions lists active sessions with the current one marked, and revokes one", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const a = await login(t, user.email);
    const b = await login(t, user.email);
    const res = await authed(t, "GET", "/api/v1/me/sessions", a.access_token);
    const { sessions } = await res.json();
    assert.equal(sessions.length, 2);
    const current = sessions.find((s: { current: boolean }) => s.current);
    const other = sessions.find((s: { current: boolean }) => !s.current);
    assert.ok(current && other);
    for (const key of ["id", "created_at", "last_used_at", "ip", "user_agent"]) {
      assert.ok(key in current, key);
    }
    const del = await authed(t, "DELETE", `/api/v1/me/sessions/${other.id}`, a.access_token);
    assert.equal(del.status, 204);
    assert.equal((await authed(t, "GET", "/api/v1/me", b.access_token)).status, 401);
    const again = await authed(t, "DELETE", `/api/v1/me/sessions/${other.id}`, a.access_token);
    assert.equal(again.status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("PATCH /me updates the name", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const tokens = await login(t, user.email);
    const res = await authed(t, "PATCH", "/api/v1/me", tokens.access_token, { name: "New Name" });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).user.name, "New Name");
  } finally {
    await t.close();
  }
});

Deno.test("a bcrypt user can log in and the hash is upgraded to argon2id", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const legacy = (await bcryptHash(STRONG_PASSWORD, 8)).replace(/^\$2b\$/, "$2y$");
    await t.deps.db.updateTable("users").set({ password_hash: legacy }).where("id", "=", user.id)
      .execute();
    await login(t, user.email);
    const row = await t.deps.db.selectFrom("users").select("password_hash")
      .where("id", "=", user.id).executeTakeFirstOrThrow();
    assert.match(row.password_hash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
  } finally {
    await t.close();
  }
});

Deno.test("a weaker argon2id hash is rehashed with the configured parameters on login", async () => {
  const weak = await buildTestApp({ ARGON2_MEMORY_KIB: "512", ARGON2_TIME_COST: "1" });
  const user = await registerUser(weak);
  const { password_hash: weakHash } = await weak.deps.db.selectFrom("users").select("password_hash")
    .where("id", "=", user.id).executeTakeFirstOrThrow();
  await weak.close();
  const t = await buildTestApp();
  try {
    const moved = await registerUser(t, user.email);
    await t.deps.db.updateTable("users").set({ password_hash: weakHash }).where("id", "=", moved.id)
      .execute();
    await login(t, user.email);
    const row = await t.deps.db.selectFrom("users").select("password_hash")
      .where("id", "=", moved.id).executeTakeFirstOrThrow();
    assert.match(row.password_hash, /m=1024,t=1,p=1/);
  } finally {
    await t.close();
  }
});

async function forge(header: object, claims: object, secret = TEST_SECRET, alg = "SHA-256") {
  const enc = (v: object) => toBase64Url(new TextEncoder().encode(JSON.stringify(v)));
  const input = `${enc(header)}.${enc(claims)}`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: alg },
    false,
    ["sign"],
  );
  const sig = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)),
  );
  return `${input}.${toBase64Url(sig)}`;
}

Deno.test("forged, expired and foreign tokens are refused with 401 invalid_token", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const good = await login(t, user.email);
    const [h, p] = good.access_token.split(".");
    const header = JSON.parse(atob(h));
    const claims = JSON.parse(atob(p.replaceAll("-", "+").replaceAll("_", "/")));
    const none = `${toBase64Url(new TextEncoder().encode('{"alg":"none","typ":"JWT"}'))}.${p}.`;
    const cases: Record<string, string> = {
      "alg none": none,
      "HS512": await forge({ ...header, alg: "HS512" }, claims, TEST_SECRET, "SHA-512"),
      "wrong audience": await forge(header, { ...claims, aud: "someone-else" }),
      "wrong issuer": await forge(header, { ...claims, iss: "evil" }),
      "missing exp": await forge(header, { ...claims, exp: undefined }),
      "wrong secret": await forge(header, claims, "another-secret-another-secret-another"),
      "tampered role": `${h}.${
        toBase64Url(new TextEncoder().encode(JSON.stringify({ ...claims, role: "super_admin" })))
      }.${good.access_token.split(".")[2]}`,
      "garbage": "not.a.token",
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await authed(t, "GET", "/api/v1/me", token);
      assert.equal(res.status, 401, name);
      assert.equal((await res.json()).code, "invalid_token", name);
      assert.match(res.headers.get("www-authenticate") ?? "", /Bearer/, name);
    }
    clock.advance(15 * 60 * 1000 + 1000);
    const expired = await authed(t, "GET", "/api/v1/me", good.access_token);
    assert.equal(expired.status, 401, "expired");
    const missing = await request(t.app, "GET", "/api/v1/me");
    assert.equal(missing.status, 401);
    assert.equal((await missing.json()).code, "unauthorized");
  } finally {
    await t.close();
  }
});

Deno.test("a token signed with JWT_SECRET_KEY_PREVIOUS is accepted during rotation only", async () => {
  const oldSecret = "old-secret-old-secret-old-secret-old-secret";
  const before = await buildTestApp({ JWT_SECRET_KEY: oldSecret, DATABASE_URL: ":memory:" });
  const user = await registerUser(before);
  const token = (await login(before, user.email)).access_token;
  await before.close();

  const rotating = await buildTestApp({ JWT_SECRET_KEY_PREVIOUS: oldSecret });
  try {
    // The memory database is new, so /me would 401 for an unknown user: use the admin check
    // instead, which needs only a valid token: a plain user gets 403, not 401.
    const res = await authed(rotating, "GET", "/api/v1/admin/users", token);
    assert.equal(res.status, 403);
  } finally {
    await rotating.close();
  }
  const rotated = await buildTestApp();
  try {
    const res = await authed(rotated, "GET", "/api/v1/admin/users", token);
    assert.equal(res.status, 401);
  } finally {
    await rotated.close();
  }
});

Deno.test("refresh() refuses a session idle longer than REFRESH_TOKEN_IDLE_TTL and revokes it", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const tokens = await login(t, user.email);
    clock.advance(7 * 86_400_000 + 1000);
    const res = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: tokens.refresh_token },
    });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).code, "refresh_token_expired");
    const session = await t.deps.db.selectFrom("sessions").select(["revoked_at", "revoke_reason"])
      .where("user_id", "=", user.id).executeTakeFirstOrThrow();
    assert.equal(session.revoke_reason, "expired");
    assert.ok(session.revoked_at !== null);
  } finally {
    await t.close();
  }
});
