import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../src/app_types.ts";
import { errorHandler, notFoundHandler } from "../src/middleware/errors.ts";
import { jsonBody } from "../src/middleware/json_body.ts";
import { requestContext } from "../src/middleware/request_context.ts";
import { createLogger, memorySink } from "../src/platform/logger.ts";
import { buildTestApp, request } from "./support/helpers.ts";

async function assertProblem(res: Response, status: number, code: string) {
  assert.equal(res.status, status);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.title, "string");
  assert.equal(typeof body.detail, "string");
  assert.match(body.type, /^https:\/\//);
  return body;
}

Deno.test("GET /health answers 200 with version and database status", async () => {
  const t = await buildTestApp();
  try {
    const res = await request(t.app, "GET", "/health");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body, { status: "ok", version: t.deps.version, database: "ok" });
    assert.match(res.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
  } finally {
    await t.close();
  }
});

Deno.test("GET /health answers 503 degraded when the database does not answer", async () => {
  const t = await buildTestApp();
  try {
    await t.deps.db.destroy();
    const res = await request(t.app, "GET", "/health");
    assert.equal(res.status, 503);
    assert.equal((await res.json()).status, "degraded");
  } finally {
    await t.close().catch(() => {});
  }
});

Deno.test("a well-formed client request id is echoed, a malformed one replaced", async () => {
  const t = await buildTestApp();
  try {
    const ok = await request(t.app, "GET", "/health", {
      headers: { "x-request-id": "req-12345678" },
    });
    assert.equal(ok.headers.get("x-request-id"), "req-12345678");
    const bad = await request(t.app, "GET", "/health", {
      headers: { "x-request-id": "bad id <script>" },
    });
    assert.notEqual(bad.headers.get("x-request-id"), "bad id <script>");
    assert.match(bad.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
  } finally {
    await t.close();
  }
});

Deno.test("one JSON access-log line per request, without the query string", async () => {
  const t = await buildTestApp();
  try {
    await request(t.app, "GET", "/health?token=secret-value");
    await t.deps.logger.flush();
    const lines = t.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "request");
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.equal(line.method, "GET");
    assert.equal(line.path, "/health");
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, "number");
    assert.equal(typeof line.request_id, "string");
    assert.equal(line.client_ip, "127.0.0.1");
    assert.ok(!t.logs.join("\n").includes("secret-value"));
  } finally {
    await t.close();
  }
});

Deno.test("unknown routes are 404 problems and wrong methods 405 with Allow", async () => {
  const t = await buildTestApp();
  try {
    await assertProblem(await request(t.app, "GET", "/nope"), 404, "not_found");
    const res = await request(t.app, "DELETE", "/health");
    await assertProblem(res, 405, "method_not_allowed");
    assert.equal(res.headers.get("allow"), "GET, HEAD");
  } finally {
    await t.close();
  }
});

Deno.test("bodies are rejected with 400, 413 and 415 problems before any handler", async () => {
  const t = await buildTestApp({ MAX_BODY_BYTES: "1024", MAX_JSON_DEPTH: "5" });
  try {
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['{"a":', { "content-type": "application/json" }, 400, "malformed_json"],
      ["x".repeat(2000), { "content-type": "application/json" }, 413, "payload_too_large"],
      [
        "a=b",
        { "content-type": "application/x-www-form-urlencoded" },
        415,
        "unsupported_media_type",
      ],
      ["[[[[[[[[1]]]]]]]]", { "content-type": "application/json" }, 400, "json_limits_exceeded"],
    ];
    for (const [body, headers, status, code] of cases) {
      await assertProblem(await request(t.app, "POST", "/health", { body, headers }), status, code);
    }
    const latin1 = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]);
    const res = await t.app.request("http://localhost/health", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: latin1,
    });
    await assertProblem(res, 400, "invalid_encoding");
  } finally {
    await t.close();
  }
});

Deno.test("a streamed body over the limit is cut off with 413 even without Content-Length", async () => {
  const t = await buildTestApp({ MAX_BODY_BYTES: "1024" });
  try {
    const chunk = new TextEncoder().encode("x".repeat(512));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 10) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await t.app.request("http://localhost/health", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await assertProblem(res, 413, "payload_too_large");
    assert.ok(sent < 10, "the server stopped reading early");
  } finally {
    await t.close();
  }
});

Deno.test("an unexpected error becomes a generic 500 that leaks nothing and is logged", async () => {
  const sink = memorySink();
  const logger = createLogger({ sinks: [sink], flushIntervalMs: 1 });
  const app = new Hono<AppEnv>();
  app.use(requestContext({ logger, trustedProxies: [], now: Date.now }));
  app.use(jsonBody({ maxBytes: 1024, maxDepth: 8, maxStringLength: 100 }));
  app.get("/boom", () => {
    throw new Error("SQLITE_ERROR: near SELECT * FROM users WHERE password = 'x' at /srv/app.ts");
  });
  app.onError(errorHandler(logger));
  app.notFound(notFoundHandler(app));
  const res = await app.request("/boom");
  const body = await assertProblem(res, 500, "internal_error");
  const text = JSON.stringify(body);
  for (const leak of ["SQLITE", "SELECT", "/srv/app.ts", "stack"]) assert.ok(!text.includes(leak));
  await logger.flush();
  const logged = sink.lines.map((l) => JSON.parse(l)).find((l) => l.msg === "unhandled error");
  assert.equal(logged.request_id, body.request_id);
});

Deno.test("an empty body sent as application/json reads as {}: a route needing fields answers 422 naming each, one with only optional fields works", async () => {
  const t = await buildTestApp();
  try {
    const json = { "content-type": "application/json" };
    const login = await request(t.app, "POST", "/api/v1/auth/login", { body: "", headers: json });
    assert.equal(login.status, 422);
    const body = await login.json();
    assert.equal(body.code, "validation_failed");
    assert.deepEqual(body.errors.map((e: { field: string }) => e.field).sort(), [
      "email",
      "password",
    ]);
    // No refresh token in the body nor a cookie: the route's own 422, not a parse error.
    const refresh = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: "",
      headers: json,
    });
    assert.equal(refresh.status, 422);
    assert.equal((await refresh.json()).errors[0].field, "refresh_token");
  } finally {
    await t.close();
  }
});
