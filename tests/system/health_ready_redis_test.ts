/**
 * `GET /health/ready` (src/routes/health.ts) with RATE_LIMIT_STORE=redis on a real
 * redis-server: ready while it runs, 503 `counters: down` once it stops, ready again when a
 * server is back on the same port (the client reconnects on the next command).
 */
import assert from "node:assert/strict";
import { createApp } from "../../src/app.ts";
import { redisCounterStore } from "../../src/platform/counter_store_redis.ts";
import { buildTestApp, request } from "../support/helpers.ts";
import { startRedis } from "../support/redis_server.ts";

Deno.test("GET /health/ready follows a real Redis counter store going down and coming back", async () => {
  const t = await buildTestApp();
  let server = await startRedis();
  const counters = redisCounterStore({ url: server.url, clock: t.clock });
  const app = createApp({ ...t.deps, counters });
  try {
    const ready = await request(app, "GET", "/health/ready");
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      status: "ready",
      checks: { database: "ok", migrations: "ok", counters: "ok" },
    });

    await server.stop();
    const down = await request(app, "GET", "/health/ready");
    assert.equal(down.status, 503);
    assert.deepEqual(await down.json(), {
      status: "not_ready",
      checks: { database: "ok", migrations: "ok", counters: "down" },
    });

    server = await startRedis({ port: server.port });
    const back = await request(app, "GET", "/health/ready");
    assert.equal(back.status, 200);
  } finally {
    await counters.close();
    await server.stop();
    await t.close();
  }
});
