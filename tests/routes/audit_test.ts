import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../src/app_types.ts";
import { errorHandler } from "../../src/middleware/errors.ts";
import { auditRoutes, encodeAuditCursor } from "../../src/routes/audit.ts";
import { recordAudit } from "../../src/services/audit.ts";
import type { AuditEventInput } from "../../src/services/audit_events.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";

const START = Date.UTC(2026, 0, 1);

/** The audit router behind a stand-in for authenticate that trusts an x-test-role header. */
function auditApp(t: TestApp) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    const role = c.req.header("x-test-role");
    if (role) c.set("principal", { kind: "user", userId: "admin-1", role });
    c.set("requestId", "req-test");
    await next();
  });
  app.route("/", auditRoutes(t.deps));
  app.onError(errorHandler(t.deps.logger));
  return app;
}

async function seed(t: TestApp) {
  const clock = { now: () => START };
  const events: AuditEventInput[] = [];
  for (let i = 0; i < 7; i++) {
    events.push({
      actorType: i % 2 ? "user" : "anonymous",
      actorId: i % 2 ? "user-a" : null,
      action: i % 3 === 0 ? "auth.login.failed" : "auth.login.succeeded",
      outcome: i % 3 === 0 ? "failure" : "success",
      ip: "192.0.2.1",
      requestId: `req-${i}`,
    });
  }
  for (const [i, event] of events.entries()) {
    await recordAudit(t.deps.db, event, { clock: { now: () => clock.now() + i * 60_000 } });
  }
}

async function get(app: Hono<AppEnv>, query: string, role: string | null = "admin") {
  const res = await app.request(`http://localhost/api/v1/admin/audit${query}`, {
    headers: role ? { "x-test-role": role } : {},
  });
  return { status: res.status, res, body: await res.json() };
}

Deno.test("GET /api/v1/admin/audit is for admins only: 401 anonymous, 403 users", async () => {
  const t = await buildTestApp();
  try {
    const app = auditApp(t);
    const anonymous = await get(app, "", null);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, "unauthorized");
    const user = await get(app, "", "user");
    assert.equal(user.status, 403);
    assert.equal(user.body.code, "forbidden");
    for (const role of ["admin", "super_admin"]) {
      assert.equal((await get(app, "", role)).status, 200);
    }
  } finally {
    await t.close();
  }
});

Deno.test("GET /api/v1/admin/audit pages newest first with an opaque cursor", async () => {
  const t = await buildTestApp();
  try {
    await seed(t);
    const app = auditApp(t);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await get(app, `?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      assert.equal(page.status, 200);
      assert.equal(page.res.headers.get("cache-control"), "no-store");
      seen.push(...page.body.items.map((item: { seq: number }) => item.seq));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [7, 6, 5, 4, 3, 2, 1]);

    const first = (await get(app, "?limit=1")).body.items[0];
    assert.deepEqual(Object.keys(first).sort(), [
      "action",
      "actor_id",
      "actor_type",
      "details",
      "hash",
      "id",
      "ip",
      "occurred_at",
      "outcome",
      "prev_hash",
      "request_id",
      "seq",
      "target_id",
      "target_type",
      "user_agent",
    ]);
    assert.equal(first.occurred_at, "2026-01-01T00:06:00.000Z");
    assert.equal(first.request_id, "req-6");
  } finally {
    await t.close();
  }
});

Deno.test("GET /api/v1/admin/audit filters by actor, action, outcome and time range", async () => {
  const t = await buildTestApp();
  try {
    await seed(t);
    const app = auditApp(t);
    const seqs = async (query: string) =>
      (await get(app, query)).body.items.map((item: { seq: number }) => item.seq);
    assert.deepEqual(await seqs("?actor=user-a"), [6, 4, 2]);
    assert.deepEqual(await seqs("?action=auth.login.failed"), [7, 4, 1]);
    assert.deepEqual(await seqs("?outcome=success"), [6, 5, 3, 2]);
    assert.deepEqual(
      await seqs("?since=2026-01-01T00:02:00Z&until=2026-01-01T00:05:00Z"),
      [5, 4, 3],
    );
    assert.deepEqual(await seqs("?actor=user-a&outcome=failure"), [4]);
    const cursor = encodeAuditCursor(4);
    assert.deepEqual(await seqs(`?action=auth.login.failed&cursor=${cursor}`), [1]);
  } finally {
    await t.close();
  }
});

Deno.test("GET /api/v1/admin/audit rejects malformed filters with 422 field errors", async () => {
  const t = await buildTestApp();
  try {
    const app = auditApp(t);
    const cases: Array<[string, string]> = [
      ["?limit=0", "limit"],
      ["?limit=101", "limit"],
      ["?limit=ten", "limit"],
      ["?since=yesterday", "since"],
      ["?outcome=maybe", "outcome"],
      ["?action=drop.table", "action"],
      ["?cursor=not-a-cursor!", "cursor"],
      [`?cursor=${btoa('{"s":-4}')}`, "cursor"],
    ];
    for (const [query, field] of cases) {
      const res = await get(app, query);
      assert.equal(res.status, 422, query);
      assert.equal(res.body.code, "validation_failed");
      assert.deepEqual(res.body.errors.map((e: { field: string }) => e.field), [field], query);
    }
  } finally {
    await t.close();
  }
});
