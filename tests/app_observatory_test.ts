import assert from "node:assert/strict";
import { sql } from "kysely";
import { buildTestApp } from "./support/helpers.ts";
import { observatoryScore } from "./support/observatory.ts";

const ORIGIN = "https://app.example.com";
const ENV = {
  ALLOWED_HOSTS: "api.example.com",
  CORS_ORIGINS: ORIGIN,
  MAX_BODY_BYTES: "256",
  RATE_LIMIT_AUTH_PER_MINUTE: "1",
  REFRESH_COOKIE: "true",
};

Deno.test("createApp(): every kind of response over HTTPS scores A+ on the Observatory rules", async () => {
  const t = await buildTestApp(ENV);
  const send = async (method: string, path: string, init: RequestInit = {}) =>
    await t.app.request(`https://api.example.com${path}`, { method, ...init }, {
      remoteAddr: { hostname: "203.0.113.9" },
    });
  const json = { "content-type": "application/json" };
  const login = JSON.stringify({ email: "nobody@example.com", password: "wrong-password-1" });
  try {
    const cases: Array<[string, number, () => Promise<Response>]> = [
      ["health", 200, () => send("GET", "/health")],
      ["unauthenticated", 401, () => send("GET", "/api/v1/me")],
      ["unknown route", 404, () => send("GET", "/nope")],
      ["wrong method", 405, () => send("DELETE", "/health")],
      [
        "oversized body",
        413,
        () => send("POST", "/api/v1/auth/login", { headers: json, body: "x".repeat(400) }),
      ],
      [
        "non-JSON body",
        415,
        () =>
          send("POST", "/api/v1/auth/login", {
            headers: { "content-type": "text/plain" },
            body: "x",
          }),
      ],
      [
        "failed login",
        401,
        () => send("POST", "/api/v1/auth/login", { headers: json, body: login }),
      ],
      [
        "rate limited",
        429,
        () => send("POST", "/api/v1/auth/login", { headers: json, body: login }),
      ],
      ["foreign host", 400, () => send("GET", "/health", { headers: { host: "evil.example" } })],
      [
        "cross-site cookie refresh",
        403,
        () =>
          send("POST", "/api/v1/auth/refresh", {
            headers: {
              ...json,
              cookie: "__Host-citadel_refresh=x",
              origin: "https://evil.example",
            },
            body: "{}",
          }),
      ],
      ["internal error", 500, async () => {
        // A broken table turns the next query into an internal error.
        await sql`ALTER TABLE users RENAME TO users_gone`.execute(t.deps.db);
        const res = await t.app.request("https://api.example.com/api/v1/auth/register", {
          method: "POST",
          headers: json,
          body: JSON.stringify({ email: "new@example.com", password: "Quartz-Lantern-Orbit-71!" }),
        }, { remoteAddr: { hostname: "198.51.100.1" } }); // another address: not rate limited
        const body = await res.clone().json();
        assert.equal(body.code, "internal_error");
        assert.ok(!JSON.stringify(body).includes("users"), "no SQL or table names leak");
        return res;
      }],
      [
        "preflight",
        204,
        () =>
          send("OPTIONS", "/api/v1/me", {
            headers: { origin: ORIGIN, "access-control-request-method": "GET" },
          }),
      ],
    ];
    for (const [name, status, call] of cases) {
      const response = await call();
      assert.equal(response.status, status, name);
      const score = await observatoryScore({ response, https: true });
      assert.ok(score.score >= 100, `${name}: ${score.score} ${JSON.stringify(score.tests)}`);
      assert.equal(
        response.headers.get("strict-transport-security"),
        "max-age=63072000; includeSubDomains",
        name,
      );
      assert.equal(response.headers.get("server"), null, name);
      assert.equal(response.headers.get("x-powered-by"), null, name);
      assert.equal(response.headers.get("x-xss-protection"), "0", name);
      assert.equal(response.headers.get("cache-control"), "no-store", name);
      if (status >= 400) {
        assert.equal(response.headers.get("content-type"), "application/problem+json", name);
      }
      await response.body?.cancel();
    }
  } finally {
    await t.close();
  }
});
