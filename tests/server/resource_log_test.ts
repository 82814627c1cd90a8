/**
 * The resource log: its report counted from a real database (sessions neither revoked nor
 * expired, messages neither sent nor given up), its lines on a timer that stops, and a real
 * `citadel serve` with RESOURCE_LOG_INTERVAL=1 writing `resources` lines to stdout, timing its
 * database statements into the query histogram and sampling the event-loop lag.
 */
import assert from "node:assert/strict";
import { Metrics } from "../../src/platform/metrics.ts";
import { createLogger, memorySink } from "../../src/platform/logger.ts";
import { resourceReport, startResourceLog } from "../../src/server/resource_log.ts";
import { authed, login, registerUser } from "../support/auth_support.ts";
import { buildTestApp, startServer, tempDir, TEST_ENV } from "../support/helpers.ts";
import { waitForLine } from "../support/spawned_server.ts";

const DAY_MS = 86_400_000;

Deno.test("resourceReport() counts open sessions and waiting messages from the database, and reads memory and lag", async () => {
  const t = await buildTestApp();
  try {
    const metrics = new Metrics({ version: "test", runtime: "test" });
    const report = () => resourceReport({ db: t.deps.db, clock: t.deps.clock, metrics });
    const empty = await report();
    assert.equal(empty.open_sessions, 0);
    assert.equal(empty.outbox_depth, 0);
    assert.ok(empty.rss_bytes > 0 && empty.heap_used_bytes > 0, JSON.stringify(empty));
    assert.ok(empty.heap_total_bytes >= empty.heap_used_bytes);
    assert.equal(empty.event_loop_lag_p99_ms, 0, "nothing sampled yet");

    const user = await registerUser(t);
    await login(t, user.email);
    const ended = await login(t, user.email);
    const out = await authed(t, "POST", "/api/v1/auth/logout", ended.access_token);
    assert.equal(out.status, 204);
    const now = await report();
    assert.equal(now.open_sessions, 1, "the one not revoked");
    assert.equal(now.outbox_depth, 1, "the verification message of the registration");
    assert.equal(now.error, undefined);

    // Past the sessions' absolute lifetime none is open any more.
    const later = await resourceReport({
      db: t.deps.db,
      clock: { now: () => t.deps.clock.now() + 400 * DAY_MS },
      metrics,
    });
    assert.equal(later.open_sessions, 0);
  } finally {
    await t.close();
  }
});

Deno.test("startResourceLog() writes a resources line each interval until stopped; a failing database leaves the counts null", async () => {
  const t = await buildTestApp();
  const sink = memorySink();
  const logger = createLogger({ level: "info", sinks: [sink], flushIntervalMs: 1 });
  try {
    const metrics = new Metrics({ version: "test", runtime: "test" });
    const options = { db: t.deps.db, clock: t.deps.clock, logger, metrics };
    const log = startResourceLog({ ...options, intervalSeconds: 0.05 });
    await new Promise((resolve) => setTimeout(resolve, 180));
    await log.stop();
    await logger.flush();
    const lines = sink.lines.map((line) => JSON.parse(line));
    assert.ok(lines.length >= 2, `${lines.length} lines`);
    for (const line of lines) {
      assert.equal(line.msg, "resources");
      assert.equal(line.level, "info");
      assert.equal(line.open_sessions, 0);
    }
    const written = sink.lines.length;
    await new Promise((resolve) => setTimeout(resolve, 120));
    await logger.flush();
    assert.equal(sink.lines.length, written, "nothing after stop");

    const off = startResourceLog({ ...options, intervalSeconds: 0 });
    await off.stop();

    await t.deps.db.destroy();
    const failing = await resourceReport(options);
    assert.equal(failing.open_sessions, null);
    assert.equal(failing.outbox_depth, null);
    assert.ok(failing.error, "the reason");
    assert.ok(failing.rss_bytes > 0, "memory is still reported");
  } finally {
    await logger.close();
    await t.close().catch(() => {});
  }
});

Deno.test("citadel serve with RESOURCE_LOG_INTERVAL=1 logs resources each second, times its queries and samples the lag, and stops cleanly", async () => {
  await using dir = await tempDir();
  const server = await startServer({
    ...TEST_ENV,
    LOG_LEVEL: "info",
    DATABASE_URL: `file:${dir.path}/citadel.db`,
    RESOURCE_LOG_INTERVAL: "1",
  });
  let stopped = false;
  try {
    const line = JSON.parse(await waitForLine(server.output, /"msg":"resources"/));
    for (
      const field of [
        "rss_bytes",
        "heap_used_bytes",
        "heap_total_bytes",
        "event_loop_lag_p99_ms",
        "open_sessions",
        "outbox_depth",
      ]
    ) assert.equal(typeof line[field], "number", `${field} in ${JSON.stringify(line)}`);
    assert.equal(line.level, "info");
    assert.ok(line.rss_bytes > 0);
    assert.equal(line.open_sessions, 0);

    const res = await fetch(`${server.url}/metrics`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const count = /^citadel_db_query_duration_seconds_count (\d+)$/m.exec(text);
    assert.ok(count && Number(count[1]) > 0, "the start-up's statements were timed");
    // Timers never fire exactly on time: a running sampler has seen some lag; none reads 0.
    const lag = /^citadel_event_loop_lag_seconds (\S+)$/m.exec(text);
    assert.ok(lag && Number(lag[1]) > 0, `the lag sampler runs: ${lag?.[0]}`);

    stopped = true;
    assert.equal((await server.stop()).code, 0);
    assert.ok(server.output.some((l) => /"msg":"stopped"/.test(l)));
  } finally {
    if (!stopped) await server.stop();
  }
});
