import assert from "node:assert/strict";
import { ALLOWED_ORIGIN, hardenedApp, type HardenedAppOptions } from "../support/hardened_app.ts";
import { observatoryScore } from "../support/observatory.ts";

async function call(
  method: string,
  headers: Record<string, string>,
  options: HardenedAppOptions = {},
) {
  const { app, close } = hardenedApp(options);
  const response = await app.request("https://api.example.com/ok", { method, headers }, {
    remoteAddr: { hostname: "127.0.0.1" },
  });
  const body = await response.text();
  await close();
  return { response, status: response.status, h: response.headers, body };
}

const preflight = (origin: string, method: string, requestHeaders?: string) => ({
  origin,
  "access-control-request-method": method,
  ...(requestHeaders ? { "access-control-request-headers": requestHeaders } : {}),
});

const ACAO = "access-control-allow-origin";
const ACAC = "access-control-allow-credentials";
const ALLOW_METHODS = "access-control-allow-methods";
const ALLOW_HEADERS = "access-control-allow-headers";

Deno.test("cors() reflects an allowlisted origin with credentials, exposed headers and Vary", async () => {
  const { h, status } = await call("GET", { origin: ALLOWED_ORIGIN });
  assert.equal(status, 200);
  assert.equal(h.get(ACAO), ALLOWED_ORIGIN);
  assert.equal(h.get(ACAC), "true");
  assert.match(
    h.get("access-control-expose-headers") ?? "",
    /Retry-After, WWW-Authenticate, X-Request-Id/,
  );
  assert.equal(h.get("vary"), "Origin");
});

const REFUSED: Array<[string, Record<string, string>]> = [
  ["a disallowed origin", { origin: "https://evil.example" }],
  ["an origin differing only by scheme", { origin: "http://app.example.com" }],
  ["an origin differing only by port", { origin: "https://app.example.com:8443" }],
  ["a suffix-extended origin", { origin: "https://app.example.com.evil.example" }],
  ["the null origin", { origin: "null" }],
  ["no origin", {}],
];
for (const [name, headers] of REFUSED) {
  Deno.test(`cors() gives ${name} no CORS headers but still Vary: Origin`, async () => {
    const { h, status } = await call("GET", headers);
    assert.equal(status, 200);
    assert.equal(h.get(ACAO), null);
    assert.equal(h.get(ACAC), null);
    assert.equal(h.get("access-control-expose-headers"), null);
    assert.equal(h.get("vary"), "Origin");
  });
}

Deno.test("cors() answers an allowed preflight with 204, the allowlists, max-age 600 and credentials", async () => {
  const { h, status, body, response } = await call(
    "OPTIONS",
    preflight(ALLOWED_ORIGIN, "DELETE", "authorization, content-type, x-api-key, x-request-id"),
  );
  assert.equal(status, 204);
  assert.equal(body, "");
  assert.equal(h.get(ACAO), ALLOWED_ORIGIN);
  assert.equal(h.get(ACAC), "true");
  assert.equal(h.get(ALLOW_METHODS), "GET, HEAD, POST, PUT, PATCH, DELETE");
  assert.equal(h.get(ALLOW_HEADERS), "Authorization, Content-Type, X-API-Key, X-Request-Id");
  assert.equal(h.get("access-control-max-age"), "600");
  assert.match(h.get("vary") ?? "", /^Origin, Access-Control-Request-Method/);
  const score = await observatoryScore({ response, https: true });
  assert.ok(score.score >= 100, JSON.stringify(score.tests));
});

const REFUSED_PREFLIGHTS: Array<[string, Record<string, string>]> = [
  ["a disallowed origin", preflight("https://evil.example", "GET")],
  ["the null origin", preflight("null", "GET")],
  ["a disallowed method", preflight(ALLOWED_ORIGIN, "PROPFIND")],
  ["a lower-case method name", preflight(ALLOWED_ORIGIN, "delete")],
  ["a disallowed header", preflight(ALLOWED_ORIGIN, "POST", "content-type, x-evil")],
  ["a cookie header request", preflight(ALLOWED_ORIGIN, "POST", "cookie")],
];
for (const [name, headers] of REFUSED_PREFLIGHTS) {
  Deno.test(`cors() refuses a preflight with ${name}: 403 cors_rejected without allow headers`, async () => {
    const { h, status, body } = await call("OPTIONS", headers);
    assert.equal(status, 403);
    assert.equal(JSON.parse(body).code, "cors_rejected");
    assert.equal(h.get("content-type"), "application/problem+json");
    for (const name of [ACAO, ACAC, ALLOW_METHODS, ALLOW_HEADERS, "access-control-max-age"]) {
      assert.equal(h.get(name), null, name);
    }
    assert.match(h.get("vary") ?? "", /Origin/);
  });
}

Deno.test("cors() treats OPTIONS without Access-Control-Request-Method as a plain request", async () => {
  const { status, h } = await call("OPTIONS", { origin: ALLOWED_ORIGIN });
  assert.equal(status, 404);
  assert.equal(h.get(ALLOW_METHODS), null);
  assert.equal(h.get(ACAO), ALLOWED_ORIGIN);
});

Deno.test("cors() in development answers * without credentials, and explicit origins with them", async () => {
  const options: HardenedAppOptions = { origins: ["*", ALLOWED_ORIGIN] };
  const other = await call("GET", { origin: "https://anything.example" }, options);
  assert.equal(other.h.get(ACAO), "*");
  assert.equal(other.h.get(ACAC), null);
  const listed = await call("GET", { origin: ALLOWED_ORIGIN }, options);
  assert.equal(listed.h.get(ACAO), ALLOWED_ORIGIN);
  assert.equal(listed.h.get(ACAC), "true");
  const nullOrigin = await call("GET", { origin: "null" }, options);
  assert.equal(nullOrigin.h.get(ACAO), null);
  const pre = await call("OPTIONS", preflight("https://anything.example", "PUT"), options);
  assert.equal(pre.status, 204);
  assert.equal(pre.h.get(ACAO), "*");
  assert.equal(pre.h.get(ACAC), null);
});

// *, null and inexact origins outside development are refused by parseConfig
// (tests/config_test.ts): cors() takes CORS_ORIGINS as given.

Deno.test("cors() never grants universal access on the Observatory's CORS test", async () => {
  const { response } = await call("GET", { origin: "https://observatory.example" });
  const score = await observatoryScore({
    response,
    https: true,
    cors: { origin: "https://observatory.example", response },
  });
  assert.equal(
    score.tests["cross-origin-resource-sharing"].result,
    "cross-origin-resource-sharing-not-implemented",
  );
  const allowed = await call("GET", { origin: ALLOWED_ORIGIN });
  const allowedScore = await observatoryScore({
    response: allowed.response,
    https: true,
    cors: { origin: "https://observatory.example", response: allowed.response },
  });
  assert.equal(
    allowedScore.tests["cross-origin-resource-sharing"].result,
    "cross-origin-resource-sharing-implemented-with-restricted-access",
  );
});
