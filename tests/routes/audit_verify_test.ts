/**
 * `GET /api/v1/admin/audit/verify`: the chain verification for admins (the console's audit
 * page shows it): intact, then broken by a modified row, and refused to users.
 */
import assert from "node:assert/strict";
import { adminSession, authed, login, registerUser } from "../support/auth_support.ts";
import { dropAuditTriggers } from "../support/audit_test_db.ts";
import { buildTestApp } from "../support/helpers.ts";
import { ManualClock } from "../../src/platform/clock.ts";

Deno.test("the audit verification answers ok for an intact chain and names the first broken row once one is modified (one walk answers for a minute)", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const admin = await adminSession(t, "admin");
    const user = await registerUser(t);
    const userTokens = await login(t, user.email);
    let res = await authed(t, "GET", "/api/v1/admin/audit/verify", admin.tokens.access_token);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const intact = await res.json();
    assert.equal(intact.ok, true);
    assert.ok(intact.checked >= 4, `${intact.checked} events`);
    assert.equal(intact.first_broken, null);

    await dropAuditTriggers(t.deps.db);
    const victim = await t.deps.db.selectFrom("audit_events").select(["id", "seq"])
      .orderBy("seq").limit(1).offset(1).executeTakeFirstOrThrow();
    await t.deps.db.updateTable("audit_events").set({ outcome: "failure" })
      .where("id", "=", victim.id).execute();
    res = await authed(t, "GET", "/api/v1/admin/audit/verify", admin.tokens.access_token);
    assert.equal((await res.json()).ok, true, "within the minute the last walk answers");
    clock.advance(61_000);
    res = await authed(t, "GET", "/api/v1/admin/audit/verify", admin.tokens.access_token);
    const broken = await res.json();
    assert.equal(broken.ok, false);
    assert.equal(broken.first_broken.id, victim.id);
    assert.match(broken.first_broken.reason, /modified/);

    res = await authed(t, "GET", "/api/v1/admin/audit/verify", userTokens.access_token);
    assert.equal(res.status, 403);
  } finally {
    await t.close();
  }
});
