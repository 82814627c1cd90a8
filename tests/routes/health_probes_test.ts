/**
 * The probes of src/routes/health.ts: `GET /health/live` (no I/O) and `GET /health/ready`
 * (database, migrations, counter store), on real parts: libSQL databases migrated fully, all
 * but the last migration, or closed, and a real Redis client whose server is not there or
 * never answers.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { migrations } from "../../migrations/mod.ts";
import { createApp } from "../../src/app.ts";
import type { AppDeps, AppEnv } from "../../src/app_types.ts";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import { databaseCounterStore } from "../../src/platform/counter_store_database.ts";
import { redisCounterStore } from "../../src/platform/counter_store_redis.ts";
import { healthRoutes } from "../../src/routes/health.ts";
import { buildTestApp, request, type TestApp, testConfig } from "../support/helpers.ts";

const READY = {
  status: "ready",
  checks: { database: "ok", migrations: "ok", counters: "ok" },
};

/** A loopback port nothing listens on: connecting to it is refused at once. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function warnings(t: TestApp): Promise<Array<Record<string, unknown>>> {
  await t.deps.logger.flush();
  return t.logs.map((line) => JSON.parse(line)).filter((l) => l.msg === "not ready");
}

async function withTestApp(
  run: (t: TestApp) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const t = await buildTestApp(env);
  try {
    await run(t);
  } finally {
    await t.close().catch(() => {});
  }
}

/** The app again over other deps (same logger, so its warnings land in t.logs). */
function appWith(t: TestApp, deps: Partial<AppDeps>) {
  return createApp({ ...t.deps, ...deps });
}

Deno.test("GET /health/live answers 200 {status: ok}, even when the database is closed", () =>
  withTestApp(async (t) => {
    const response = await request(t.app, "GET", "/health/live");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.equal(await response.text(), '{"status":"ok"}');
    await t.deps.db.destroy();
    const closed = await request(t.app, "GET", "/health/live");
    assert.equal(closed.status, 200);
    assert.deepEqual(await closed.json(), { status: "ok" });
  }));

Deno.test("GET /health/ready answers 200 with every check ok on a migrated libSQL database", () =>
  withTestApp(async (t) => {
    const response = await request(t.app, "GET", "/health/ready");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.deepEqual(await response.json(), READY);
    assert.deepEqual(await warnings(t), []);
  }));

Deno.test("GET /health/ready answers 503 naming the pending migration when the last one is missing", () =>
  withTestApp(async (t) => {
    const { db } = await connect(testConfig());
    try {
      await migrateUp(db, { migrations: migrations.slice(0, -1) });
      const last = migrations.at(-1)![0];
      const response = await request(appWith(t, { db }), "GET", "/health/ready");
      assert.equal(response.status, 503);
      assert.deepEqual(await response.json(), {
        status: "not_ready",
        checks: { database: "ok", migrations: "pending", counters: "ok" },
        pending_migrations: [last],
      });
      const [warning] = await warnings(t);
      assert.equal(warning.level, "warn");
      assert.deepEqual(warning.pending_migrations, [last]);
      // Applying it makes the same app ready: nothing was cached.
      await migrateUp(db);
      const after = await request(appWith(t, { db }), "GET", "/health/ready");
      assert.equal(after.status, 200);
    } finally {
      await db.destroy();
    }
  }));

Deno.test("GET /health/ready answers 503 database down on a closed database, the cause only in the log", () =>
  withTestApp(async (t) => {
    await t.deps.db.destroy();
    const response = await request(t.app, "GET", "/health/ready");
    assert.equal(response.status, 503);
    const text = await response.text();
    assert.deepEqual(JSON.parse(text), {
      status: "not_ready",
      // The migrations table cannot be read either; the memory counter store still answers.
      checks: { database: "down", migrations: "unknown", counters: "ok" },
    });
    const [warning] = await warnings(t);
    assert.equal(typeof warning.database_error, "string");
    assert.equal(typeof warning.migrations_error, "string");
    assert.ok(!text.includes(String(warning.database_error)));
    assert.equal(warning.request_id, response.headers.get("x-request-id"));
  }));

Deno.test("GET /health/ready answers 503 counters down when the Redis server is unreachable", () =>
  withTestApp(async (t) => {
    const url = `redis://127.0.0.1:${closedPort()}`;
    const counters = redisCounterStore({ url, clock: t.clock });
    try {
      const response = await request(appWith(t, { counters }), "GET", "/health/ready");
      assert.equal(response.status, 503);
      const text = await response.text();
      assert.deepEqual(JSON.parse(text), {
        status: "not_ready",
        checks: { database: "ok", migrations: "ok", counters: "down" },
      });
      assert.ok(!text.includes("127.0.0.1"));
      const [warning] = await warnings(t);
      assert.equal(warning.counter_store, "redis");
      assert.match(String(warning.counters_error), /^The counter store is unreachable: /);
    } finally {
      await counters.close();
    }
  }));

Deno.test("GET /health/ready with the database counter store: both down when the database is", () =>
  withTestApp(async (t) => {
    const app = appWith(t, { counters: databaseCounterStore(t.deps.db, t.clock) });
    assert.deepEqual(await (await request(app, "GET", "/health/ready")).json(), READY);
    await t.deps.db.destroy();
    const response = await request(app, "GET", "/health/ready");
    assert.equal(response.status, 503);
    assert.deepEqual((await response.json()).checks, {
      database: "down",
      migrations: "unknown",
      counters: "down",
    });
  }));

Deno.test("GET /health/ready gives up on a Redis server that never answers within its deadline", async () => {
  // A real socket that accepts connections and never replies: a hung store.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })();
  const { port } = listener.addr as Deno.NetAddr;
  const t = await buildTestApp();
  const counters = redisCounterStore({ url: `redis://127.0.0.1:${port}`, clock: t.clock });
  try {
    const deps = { ...t.deps, counters };
    const app = new Hono<AppEnv>().route("/", healthRoutes(deps, { readyTimeoutMs: 150 }));
    const started = performance.now();
    const response = await request(app as TestApp["app"], "GET", "/health/ready");
    const elapsed = performance.now() - started;
    assert.equal(response.status, 503);
    assert.deepEqual((await response.json()).checks, {
      database: "ok",
      migrations: "ok",
      counters: "down",
    });
    // Well under the Redis client's own 2 s command timeout.
    assert.ok(elapsed < 1000, `answered after ${elapsed} ms`);
    const [warning] = await warnings(t);
    assert.equal(warning.counters_error, "No answer within 150 ms");
  } finally {
    await counters.close();
    listener.close();
    await accepting.catch(() => {});
    for (const conn of accepted) conn.close();
    await t.close();
  }
});

Deno.test("a client blocked by the path guard still gets both probes", () =>
  withTestApp(async (t) => {
    const ip = "203.0.113.77";
    for (let i = 0; i < 5; i++) await request(t.app, "GET", "/.env", { ip });
    assert.equal((await request(t.app, "GET", "/api/v1/me", { ip })).status, 403);
    assert.equal((await request(t.app, "GET", "/health/live", { ip })).status, 200);
    assert.equal((await request(t.app, "GET", "/health/ready", { ip })).status, 200);
    // Exact paths only, as for /health.
    assert.equal((await request(t.app, "GET", "/health/ready/", { ip })).status, 403);
  }));

Deno.test("the probes are not rate limited, whatever the limits", () =>
  withTestApp(async (t) => {
    for (let i = 0; i < 20; i++) {
      assert.equal((await request(t.app, "GET", "/health/live")).status, 200);
      assert.equal((await request(t.app, "GET", "/health/ready")).status, 200);
    }
  }, { RATE_LIMIT_AUTH_PER_MINUTE: "1", RATE_LIMIT_API_PER_MINUTE: "1" }));
