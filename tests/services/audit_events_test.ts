import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { verifyAuditChain } from "../../src/services/audit_verify.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import {
  adminSession,
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
} from "../support/auth_support.ts";

async function events(t: TestApp, action: string) {
  return await t.deps.db.selectFrom("audit_events").selectAll().where("action", "=", action)
    .orderBy("seq").execute();
}

async function lastEvent(t: TestApp, action: string) {
  const rows = await events(t, action);
  assert.ok(rows.length > 0, `an ${action} event was written`);
  return rows[rows.length - 1];
}

Deno.test("every account endpoint writes its audit event with actor, outcome and request id", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({ RATE_LIMIT_ENABLED: "false" }, { clock });
  try {
    const rid = (n: number) => ({ "x-request-id": `req-audit-${n}` });
    const reg = await request(t.app, "POST", "/api/v1/auth/register", {
      body: { email: "audited@example.com", password: STRONG_PASSWORD },
      headers: rid(1),
    });
    const { user } = await reg.json();
    let e = await lastEvent(t, "user.registered");
    assert.deepEqual([e.actor_type, e.outcome, e.target_id, e.request_id], [
      "anonymous",
      "success",
      user.id,
      "req-audit-1",
    ]);

    await request(t.app, "POST", "/api/v1/auth/login", {
      body: { email: "audited@example.com", password: "Wrong-Password-1!" },
      headers: rid(2),
    });
    e = await lastEvent(t, "auth.login.failed");
    assert.deepEqual([e.outcome, e.target_id, e.request_id], ["failure", user.id, "req-audit-2"]);
    assert.equal(JSON.parse(e.details).reason, "wrong_password");
    assert.ok(!e.details.includes("Wrong-Password"), "never the password");

    const tokens = await login(t, "audited@example.com");
    e = await lastEvent(t, "auth.login.succeeded");
    assert.deepEqual([e.actor_type, e.actor_id, e.outcome], ["user", user.id, "success"]);

    await authed(t, "POST", "/api/v1/me/password", tokens.access_token, {
      current_password: STRONG_PASSWORD,
      new_password: "Velvet-Compass-Thunder-38?",
    });
    e = await lastEvent(t, "user.password_changed");
    assert.deepEqual([e.actor_type, e.actor_id, e.target_id], ["user", user.id, user.id]);

    const key = await (await authed(t, "POST", "/api/v1/api-keys", tokens.access_token, {
      name: "audited",
      scopes: ["me:read"],
    })).json();
    e = await lastEvent(t, "api_key.created");
    assert.equal(e.target_id, key.api_key.id);
    assert.ok(!e.details.includes(key.key.slice(12)), "never the key");
    await authed(t, "POST", `/api/v1/api-keys/${key.api_key.id}/rotate`, tokens.access_token, {});
    assert.equal((await lastEvent(t, "api_key.rotated")).target_id, key.api_key.id);
    await authed(t, "DELETE", `/api/v1/api-keys/${key.api_key.id}`, tokens.access_token);
    assert.equal((await lastEvent(t, "api_key.revoked")).target_id, key.api_key.id);

    const first = await login(t, "audited@example.com", "Velvet-Compass-Thunder-38?");
    await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: first.refresh_token },
    });
    clock.advance(11_000);
    await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: first.refresh_token },
      headers: rid(3),
    });
    e = await lastEvent(t, "auth.refresh.reused");
    assert.deepEqual([e.outcome, e.target_id, e.request_id], ["denied", user.id, "req-audit-3"]);

    const second = await login(t, "audited@example.com", "Velvet-Compass-Thunder-38?");
    const sessions = await (await authed(t, "GET", "/api/v1/me/sessions", second.access_token))
      .json();
    const other = sessions.sessions.find((s: { current: boolean }) => !s.current);
    if (other) {
      await authed(t, "DELETE", `/api/v1/me/sessions/${other.id}`, second.access_token);
      assert.equal((await lastEvent(t, "session.revoked")).target_id, other.id);
    }
    await authed(t, "POST", "/api/v1/auth/logout", second.access_token);
    e = await lastEvent(t, "auth.logout");
    assert.deepEqual([e.actor_type, e.actor_id], ["user", user.id]);

    const admin = await adminSession(t, "admin");
    const victim = await registerUser(t);
    await authed(t, "PATCH", `/api/v1/admin/users/${victim.id}`, admin.tokens.access_token, {
      status: "disabled",
    });
    e = await lastEvent(t, "user.disabled");
    assert.deepEqual([e.actor_id, e.target_id], [admin.user.id, victim.id]);
    await authed(t, "PATCH", `/api/v1/admin/users/${victim.id}`, admin.tokens.access_token, {
      status: "active",
    });
    assert.equal((await lastEvent(t, "user.enabled")).target_id, victim.id);
    await authed(t, "DELETE", `/api/v1/admin/users/${victim.id}`, admin.tokens.access_token);
    assert.equal((await lastEvent(t, "user.deleted")).target_id, victim.id);

    for (let i = 0; i < 6; i++) {
      await request(t.app, "POST", "/api/v1/auth/login", {
        body: { email: "audited@example.com", password: "Wrong-Password-1!" },
        ip: "198.51.100.9",
      });
    }
    e = await lastEvent(t, "auth.login.blocked");
    assert.deepEqual([e.outcome, e.ip], ["denied", "198.51.100.9"]);

    const verdict = await verifyAuditChain(t.deps.db);
    assert.equal(verdict.ok, true);
  } finally {
    await t.close();
  }
});

Deno.test("the 404 guard blocks on the 26th miss, audits it, and /health still answers", async () => {
  const t = await buildTestApp();
  try {
    const ip = "203.0.113.99";
    for (let i = 1; i <= 26; i++) {
      const res = await request(t.app, "GET", `/no-such-page-${i}`, { ip });
      assert.equal(res.status, 404, `miss ${i}`);
      await res.body?.cancel();
    }
    const blocked = await request(t.app, "GET", "/api/v1/auth/login", { ip });
    assert.equal(blocked.status, 403);
    assert.equal((await blocked.json()).code, "client_blocked");
    const health = await request(t.app, "GET", "/health", { ip });
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const lookalike = await request(t.app, "GET", "/health/", { ip });
    assert.equal(lookalike.status, 403, "exemptions are exact paths");
    await lookalike.body?.cancel();
    const other = await request(t.app, "GET", "/health", { ip: "203.0.113.100" });
    assert.equal(other.status, 200);
    await other.body?.cancel();
    const e = await lastEvent(t, "guard.client_blocked");
    assert.equal(e.ip, ip);
  } finally {
    await t.close();
  }
});

Deno.test("sensitive paths look like unknown routes, count, and block the prober", async () => {
  const t = await buildTestApp();
  try {
    const ip = "192.0.2.77";
    const probes = ["/%2e%65nv", "/.ENV", "/static/..%2f.env", "/a/.git/config", "/%252e%2565nv"];
    const unknown = await request(t.app, "GET", "/definitely-unknown", { ip: "192.0.2.1" });
    const unknownBody = await unknown.json();
    for (const path of probes) {
      const res = await request(t.app, "GET", path, { ip });
      assert.equal(res.status, 404, path);
      const body = await res.json();
      assert.equal(body.code, unknownBody.code);
      assert.equal(body.detail, unknownBody.detail);
    }
    const after = await request(t.app, "GET", "/health/x", { ip });
    assert.equal(after.status, 403);
    await after.body?.cancel();
  } finally {
    await t.close();
  }
});
