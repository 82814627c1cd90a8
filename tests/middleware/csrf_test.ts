import assert from "node:assert/strict";
import { ALLOWED_ORIGIN, hardenedApp } from "../support/hardened_app.ts";

async function post(
  path: string,
  headers: Record<string, string>,
  base = "https://api.example.com",
) {
  const { app, close } = hardenedApp();
  const response = await app.request(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: "{}",
  }, { remoteAddr: { hostname: "127.0.0.1" } });
  const body = await response.json();
  await close();
  return { status: response.status, body };
}

const COOKIE = { cookie: "__Host-citadel_refresh=abc" };

const CASES: Array<[string, Record<string, string>, number]> = [
  ["a cookie request without Origin is refused", { ...COOKIE }, 403],
  ["a cookie request from a foreign origin is refused", {
    ...COOKIE,
    origin: "https://evil.example",
  }, 403],
  ["a cookie request from Origin null is refused", { ...COOKIE, origin: "null" }, 403],
  [
    "a cookie request marked same-site (not same-origin) from a sibling is refused",
    { ...COOKIE, origin: "https://other.example.com", "sec-fetch-site": "same-site" },
    403,
  ],
  [
    "a cookie request from an allowlisted origin passes",
    { ...COOKIE, origin: ALLOWED_ORIGIN },
    200,
  ],
  ["a cookie request from the server's own origin passes", {
    ...COOKIE,
    origin: "https://api.example.com",
  }, 200],
  ["a cookie request with Sec-Fetch-Site same-origin passes", {
    ...COOKIE,
    "sec-fetch-site": "same-origin",
  }, 200],
  [
    "a Bearer request with a stray cookie from a foreign origin is unaffected",
    { ...COOKIE, origin: "https://evil.example", authorization: "Bearer token" },
    200,
  ],
  [
    "an API-key request with a stray cookie from a foreign origin is unaffected",
    { ...COOKIE, origin: "https://evil.example", "x-api-key": "ck_live_x" },
    200,
  ],
  ["a request without cookies from a foreign origin is unaffected", {
    origin: "https://evil.example",
  }, 200],
];

for (const [name, headers, status] of CASES) {
  Deno.test(`csrfGuard(): ${name}`, async () => {
    const result = await post("/echo", headers);
    assert.equal(result.status, status);
    if (status === 403) assert.equal(result.body.code, "csrf_rejected");
    else assert.deepEqual(result.body, {});
  });
}

Deno.test("csrfGuard() judges the own origin by the scheme the request arrived with", async () => {
  const plain = await post(
    "/echo",
    { ...COOKIE, origin: "https://api.example.com" },
    "http://api.example.com",
  );
  assert.equal(plain.status, 403);
  const matching = await post(
    "/echo",
    { ...COOKIE, origin: "http://api.example.com" },
    "http://api.example.com",
  );
  assert.equal(matching.status, 200);
});

Deno.test("csrfGuard() leaves safe methods alone", async () => {
  const { app, close } = hardenedApp();
  const response = await app.request("https://api.example.com/ok", {
    headers: { ...COOKIE, origin: "https://evil.example" },
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  await close();
});

Deno.test("csrfCheck() guards a cookie route even when the request also carries a Bearer token", async () => {
  const forged = await post("/refresh", {
    ...COOKIE,
    origin: "https://evil.example",
    authorization: "Bearer x",
  });
  assert.equal(forged.status, 403);
  assert.equal(forged.body.code, "csrf_rejected");
  const genuine = await post("/refresh", { ...COOKIE, origin: ALLOWED_ORIGIN });
  assert.deepEqual(genuine, { status: 200, body: { refreshed: true } });
});
