import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../src/app_types.ts";
import { errorHandler, notFoundHandler } from "../../src/middleware/errors.ts";
import { type ClientBlockEvent, pathGuard } from "../../src/middleware/path_guard.ts";
import { requestContext } from "../../src/middleware/request_context.ts";
import type { ManualClock } from "../../src/platform/clock.ts";
import type { CounterStore } from "../../src/platform/counter_store.ts";
import { databaseCounterStore } from "../../src/platform/counter_store_database.ts";
import { redisCounterStore } from "../../src/platform/counter_store_redis.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { parseRawResponse, rawHttp, rawRequest, serveOnLoopback } from "../support/loopback.ts";

const MINUTE = 60_000;

/** The order the real app uses: request context, path guard, auth, routes, notFound. */
function guardedApp(
  t: TestApp,
  options: { trustedProxies?: string[]; counters?: CounterStore } = {},
) {
  const { logger, config } = t.deps;
  const reached: string[] = [];
  const blocks: ClientBlockEvent[] = [];
  const guard = pathGuard({
    counters: options.counters ?? t.deps.counters,
    clock: t.clock,
    logger,
    limits: config.pathGuard,
    onBlock: (event) => void blocks.push(event),
  });
  const app = new Hono<AppEnv>();
  app.use(requestContext({
    logger,
    trustedProxies: options.trustedProxies ?? [],
    now: () => t.clock.now(),
  }));
  app.use(guard.middleware);
  app.use(async (c, next) => {
    if (c.req.header("authorization") === "Bearer test") {
      c.set("principal", { kind: "user", userId: "u1", role: "user" });
    }
    await next();
  });
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/api/v1/me", (c) => {
    reached.push(c.req.path);
    return c.json({ id: "u1" });
  });
  app.get("/static/*", (c) => {
    reached.push(c.req.path);
    return c.text("static file");
  });
  app.onError(errorHandler(logger));
  app.notFound(notFoundHandler(app, guard.onNotFound));
  return { app, reached, blocks };
}

async function withApp(fn: (t: TestApp) => Promise<void>, env: Record<string, string> = {}) {
  const t = await buildTestApp(env);
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

async function problem(response: Response) {
  const body = await response.json();
  delete body.request_id;
  return { status: response.status, type: response.headers.get("content-type"), body };
}

Deno.test("pathGuard() answers sensitive paths exactly like an unknown route without reaching a handler", () =>
  withApp(async (t) => {
    const { app, reached } = guardedApp(t);
    const unknown = await problem(await request(app, "GET", "/no-such-route", { ip: "192.0.2.1" }));
    assert.equal(unknown.status, 404);
    const paths = [
      "/%2e%65nv",
      "/.ENV",
      "/static/..%2f.env",
      "/a/.git/config",
      "/%252e%2565nv",
      "/static/backup.sql",
      "/static/%2e%2e%5c.git%5cconfig",
    ];
    for (const [i, path] of paths.entries()) {
      const response = await request(app, "GET", path, { ip: `198.51.100.${i + 1}` });
      assert.deepEqual(await problem(response), unknown, path);
    }
    assert.deepEqual(reached, []);
    // The handler behind the same prefix still serves ordinary files.
    assert.equal((await request(app, "GET", "/static/app.js")).status, 200);
  }));

Deno.test("pathGuard() blocks a client at the 5th sensitive hit for exactly 10 minutes; /health still answers", () =>
  withApp(async (t) => {
    const clock = t.clock as ManualClock;
    const { app, blocks } = guardedApp(t);
    const ip = "203.0.113.50";
    for (let i = 1; i <= 4; i++) {
      assert.equal((await request(app, "GET", "/.env", { ip })).status, 404);
    }
    assert.equal((await request(app, "GET", "/api/v1/me", { ip })).status, 200);
    assert.equal((await request(app, "GET", "/.git/HEAD", { ip })).status, 404);
    const blockedAt = clock.now();

    const refused = await request(app, "GET", "/api/v1/me", { ip });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get("content-type"), "application/problem+json");
    assert.equal(refused.headers.get("retry-after"), "600");
    assert.equal((await refused.json()).code, "client_blocked");
    assert.equal((await request(app, "GET", "/health", { ip })).status, 200);
    assert.equal((await request(app, "GET", "/api/v1/me", { ip: "203.0.113.51" })).status, 200);

    assert.equal(blocks.length, 1);
    assert.deepEqual(
      { ...blocks[0], requestId: undefined },
      {
        ip,
        key: ip,
        reason: "sensitive_path",
        until: blockedAt + 10 * MINUTE,
        path: "/.git/HEAD",
        requestId: undefined,
      },
    );
    await t.deps.logger.flush();
    const logged = t.logs.map((line) => JSON.parse(line)).find((e) => e.msg === "client blocked");
    assert.deepEqual([logged?.level, logged?.ip, logged?.reason], ["warn", ip, "sensitive_path"]);

    clock.set(blockedAt + 10 * MINUTE - 1);
    const last = await request(app, "GET", "/api/v1/me", { ip });
    assert.deepEqual([last.status, last.headers.get("retry-after")], [403, "1"]);
    clock.set(blockedAt + 10 * MINUTE);
    assert.equal((await request(app, "GET", "/api/v1/me", { ip })).status, 200);
  }));

Deno.test("pathGuard() lets 25 404s pass and the 26th triggers the block", () =>
  withApp(async (t) => {
    const { app, blocks } = guardedApp(t);
    const ip = "203.0.113.60";
    for (let i = 1; i <= 25; i++) {
      assert.equal((await request(app, "GET", `/missing/${i}`, { ip })).status, 404);
    }
    assert.equal((await request(app, "GET", "/api/v1/me", { ip })).status, 200);
    assert.equal(blocks.length, 0);
    assert.equal((await request(app, "GET", "/missing/26", { ip })).status, 404);
    assert.deepEqual(blocks.map((b) => [b.reason, b.path]), [["not_found", "/missing/26"]]);
    assert.equal((await request(app, "GET", "/api/v1/me", { ip })).status, 403);
    assert.equal((await request(app, "GET", "/missing/27", { ip })).status, 403);
    assert.equal((await request(app, "GET", "/health", { ip })).status, 200);
  }));

Deno.test("pathGuard() does not count 404s of authenticated clients or 405s", () =>
  withApp(async (t) => {
    const { app, blocks } = guardedApp(t);
    const ip = "203.0.113.70";
    const headers = { authorization: "Bearer test" };
    for (let i = 0; i < 30; i++) {
      assert.equal((await request(app, "GET", `/missing/${i}`, { ip, headers })).status, 404);
      assert.equal((await request(app, "DELETE", "/api/v1/me", { ip })).status, 405);
    }
    assert.equal((await request(app, "GET", "/api/v1/me", { ip })).status, 200);
    assert.equal(blocks.length, 0);
  }));

Deno.test("pathGuard() forgets hits once the window has passed", () =>
  withApp(async (t) => {
    const clock = t.clock as ManualClock;
    const { app } = guardedApp(t);
    const ip = "203.0.113.80";
    for (let i = 0; i < 4; i++) await request(app, "GET", "/.env", { ip });
    for (let i = 0; i < 25; i++) await request(app, "GET", `/missing/${i}`, { ip });
    clock.advance(10 * MINUTE);
    for (let i = 0; i < 4; i++) await request(app, "GET", "/.env", { ip });
    for (let i = 0; i < 25; i++) await request(app, "GET", `/missing/${i}`, { ip });
    assert.equal((await request(app, "GET", "/api/v1/me", { ip })).status, 200);
  }));

Deno.test("pathGuard() exemptions are exact paths, never prefixes or variants", () =>
  withApp(async (t) => {
    const { app } = guardedApp(t);
    const ip = "203.0.113.90";
    for (let i = 0; i < 5; i++) await request(app, "GET", "/.env", { ip });
    assert.equal((await request(app, "GET", "/health", { ip })).status, 200);
    assert.equal((await request(app, "GET", "/health?verbose=1", { ip })).status, 200);
    for (const path of ["/health/", "/HEALTH", "/healthz", "/health/../api/v1/me", "//health"]) {
      assert.equal((await request(app, "GET", path, { ip })).status, 403, path);
    }
  }));

Deno.test("pathGuard() ignores X-Forwarded-For from an untrusted peer and uses it from a trusted proxy", () =>
  withApp(async (t) => {
    const direct = guardedApp(t);
    const peer = "203.0.113.100";
    for (let i = 0; i < 5; i++) {
      const headers = { "x-forwarded-for": `198.51.100.${i + 1}` };
      await request(direct.app, "GET", "/.env", { ip: peer, headers });
    }
    // Rotating a spoofed header did not help: the socket address is blocked.
    const spoofed = { "x-forwarded-for": "198.51.100.200" };
    assert.equal(
      (await request(direct.app, "GET", "/api/v1/me", { ip: peer, headers: spoofed })).status,
      403,
    );
    assert.equal(direct.blocks[0].ip, peer);

    const proxied = guardedApp(t, { trustedProxies: ["10.0.0.0/8"] });
    const via = (client: string) => ({
      ip: "10.0.0.2",
      headers: { "x-forwarded-for": `6.6.6.6, ${client}` },
    });
    for (let i = 0; i < 5; i++) await request(proxied.app, "GET", "/.env", via("198.51.100.7"));
    assert.equal(proxied.blocks[0].ip, "198.51.100.7");
    assert.equal(
      (await request(proxied.app, "GET", "/api/v1/me", via("198.51.100.7"))).status,
      403,
    );
    // Another client behind the same proxy is unaffected, and so is the proxy itself.
    assert.equal(
      (await request(proxied.app, "GET", "/api/v1/me", via("198.51.100.8"))).status,
      200,
    );
    assert.equal((await request(proxied.app, "GET", "/api/v1/me", { ip: "10.0.0.2" })).status, 200);
  }));

Deno.test("pathGuard() blocks IPv6 clients per /64", () =>
  withApp(async (t) => {
    const { app, blocks } = guardedApp(t);
    for (let i = 1; i <= 5; i++) {
      await request(app, "GET", "/wp-login.php", { ip: `2001:db8:1:2::${i}` });
    }
    assert.equal(blocks[0].key, "2001:db8:1:2::/64");
    assert.equal(
      (await request(app, "GET", "/api/v1/me", { ip: "2001:db8:1:2:ffff::9" })).status,
      403,
    );
    assert.equal((await request(app, "GET", "/api/v1/me", { ip: "2001:db8:1:3::1" })).status, 200);
  }));

Deno.test("pathGuard() with a shared store sees a block set by another process within blockCacheMs", () =>
  withApp(async (t) => {
    const clock = t.clock as ManualClock;
    const shared = databaseCounterStore(t.deps.db, clock);
    const { app } = guardedApp(t, { counters: shared });
    const ip = "203.0.113.110";
    assert.equal((await request(app, "GET", "/api/v1/me", { ip })).status, 200);
    // Another process (another store over the same database) blocks the client.
    await databaseCounterStore(t.deps.db, clock).block(`client:${ip}`, clock.now() + MINUTE);
    // The "not blocked" answer is reused for a second instead of a query per request.
    clock.advance(999);
    assert.equal((await request(app, "GET", "/api/v1/me", { ip })).status, 200);
    clock.advance(1);
    assert.equal((await request(app, "GET", "/api/v1/me", { ip })).status, 403);
    const rows = await t.deps.db.selectFrom("blocks").selectAll().execute();
    assert.deepEqual(rows.map((r) => r.key), [`client:${ip}`]);
  }));

Deno.test("pathGuard() fails open when its store is unreachable and says so once", () =>
  withApp(async (t) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close();
    const counters = redisCounterStore({ url: `redis://127.0.0.1:${port}`, clock: t.clock });
    const { app } = guardedApp(t, { counters });
    const ip = "203.0.113.120";
    for (let i = 0; i < 6; i++) {
      assert.equal((await request(app, "GET", "/.env", { ip })).status, 404);
    }
    assert.equal((await request(app, "GET", "/api/v1/me", { ip })).status, 200);
    await t.deps.logger.flush();
    const warnings = t.logs.filter((line) => line.includes("counter store unavailable"));
    assert.equal(warnings.length, 1);
    await counters.close();
  }));

/** Probes of issue 14 item 8: each opens a listed file on some common server. */
const EVASIONS = [
  "/.git;/config",
  "/.git%3bx/config",
  "/api/..;/.env",
  "/.env::$DATA",
  "/web.config::$DATA",
  "/.git~/config",
  "/data/jwt_secret",
  "/data/citadel.db-wal",
  "/data/citadel.db-shm",
  "/.npmrc",
  "/.kube/config",
  "/.docker/config.json",
  "/.bash_history",
  "/www.tar.gz",
  "/example.com.zip",
  "/citadel.sql.gz",
];

Deno.test("path guard blocks `/.git;/config`, `::$DATA`, `~`, data-file and archive probes over a real socket", async () => {
  // One sensitive hit blocks, so a 403 on the next request proves the probe was counted
  // as sensitive (an ordinary 404 needs 26); each probe comes from its own client.
  const t = await buildTestApp({ SENSITIVE_PATH_MAX_HITS: "1", TRUSTED_PROXIES: "127.0.0.1" });
  try {
    await using server = serveOnLoopback(t.app);
    const send = async (path: string, client: string) =>
      parseRawResponse(
        await rawHttp(server.port, rawRequest("GET", path, { "x-forwarded-for": client })),
      );
    for (const [i, path] of EVASIONS.entries()) {
      const client = `198.51.100.${i + 1}`;
      const probe = await send(path, client);
      assert.equal(probe.status, 404, path);
      assert.equal(JSON.parse(probe.body).code, "not_found", path);
      const next = await send("/api/v1/me", client);
      assert.equal(next.status, 403, path);
      assert.equal(JSON.parse(next.body).code, "client_blocked", path);
    }
    // Legitimate routes and an ordinary unknown route do not block.
    for (const path of ["/health", "/api/v1/me", "/api/v1/no-such-route", "/api/v1/me;v=1"]) {
      await send(path, "203.0.113.200");
    }
    assert.equal((await send("/health", "203.0.113.200")).status, 200);
    assert.equal((await send("/api/v1/me", "203.0.113.200")).status, 401);
  } finally {
    await t.close();
  }
});
