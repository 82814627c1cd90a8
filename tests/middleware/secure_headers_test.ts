import assert from "node:assert/strict";
import {
  CONTENT_SECURITY_POLICY,
  PERMISSIONS_POLICY,
  securityHeaderPairs,
} from "../../src/middleware/secure_headers.ts";
import { trustedHeadersFastPath } from "../../src/middleware/trusted_headers.ts";
import { ALLOWED_ORIGIN, hardenedApp } from "../support/hardened_app.ts";
import { observatoryScore } from "../support/observatory.ts";

const BASE = "https://api.example.com";

function send(
  app: ReturnType<typeof hardenedApp>["app"],
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string; base?: string } = {},
) {
  return app.request(`${init.base ?? BASE}${path}`, {
    method,
    headers: init.headers,
    body: init.body,
  }, { remoteAddr: { hostname: "127.0.0.1" } });
}

const CASES: Array<
  {
    name: string;
    status: number;
    method: string;
    path: string;
    headers?: Record<string, string>;
    body?: string;
  }
> = [
  { name: "200", status: 200, method: "GET", path: "/ok" },
  { name: "301 (c.redirect)", status: 301, method: "GET", path: "/moved" },
  {
    name: "308 (immutable Response.redirect)",
    status: 308,
    method: "GET",
    path: "/moved-immutable",
  },
  {
    name: "400 (invalid host)",
    status: 400,
    method: "GET",
    path: "/ok",
    headers: { host: "evil.example" },
  },
  { name: "401", status: 401, method: "GET", path: "/private" },
  {
    name: "403 (csrf)",
    status: 403,
    method: "POST",
    path: "/echo",
    headers: { cookie: "a=b", "content-type": "application/json" },
    body: "{}",
  },
  { name: "404", status: 404, method: "GET", path: "/nope" },
  { name: "405", status: 405, method: "DELETE", path: "/ok" },
  {
    name: "413",
    status: 413,
    method: "POST",
    path: "/echo",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ a: "x".repeat(400) }),
  },
  {
    name: "415",
    status: 415,
    method: "POST",
    path: "/echo",
    headers: { "content-type": "text/plain" },
    body: "hi",
  },
  { name: "429", status: 429, method: "GET", path: "/limited" },
  { name: "500", status: 500, method: "GET", path: "/boom" },
  {
    name: "204 preflight",
    status: 204,
    method: "OPTIONS",
    path: "/ok",
    headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "POST" },
  },
  {
    name: "403 refused preflight",
    status: 403,
    method: "OPTIONS",
    path: "/ok",
    headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
  },
];

for (const c of CASES) {
  Deno.test(`secureHeaders: a ${c.name} response over HTTPS scores A+ (>= 100) on the Observatory rules`, async () => {
    const { app, close } = hardenedApp();
    try {
      const response = await send(app, c.method, c.path, { headers: c.headers, body: c.body });
      assert.equal(response.status, c.status);
      const cors = await send(app, "GET", "/ok", {
        headers: { origin: "https://observatory.example" },
      });
      const result = await observatoryScore({
        response,
        https: true,
        cors: { origin: "https://observatory.example", response: cors },
      });
      assert.ok(result.score >= 100, `score ${result.score}: ${JSON.stringify(result.tests)}`);
      assert.equal(result.grade, "A+");
      assert.equal(result.score, 130, JSON.stringify(result.tests));
      assert.equal(
        response.headers.get("strict-transport-security"),
        "max-age=63072000; includeSubDomains",
      );
      assert.equal(response.headers.get("x-xss-protection"), "0");
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.equal(response.headers.get("server"), null);
      await response.body?.cancel();
    } finally {
      await close();
    }
  });
}

Deno.test("secureHeaders sends the full header set, and HSTS only over HTTPS", async () => {
  const { app, close } = hardenedApp();
  const secure = await send(app, "GET", "/ok");
  const plain = await send(app, "GET", "/ok", { base: "http://api.example.com" });
  const expected = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "permissions-policy": PERMISSIONS_POLICY,
    "x-dns-prefetch-control": "off",
    "x-xss-protection": "0",
    "cache-control": "no-store",
  };
  for (const [name, value] of Object.entries(expected)) {
    assert.equal(secure.headers.get(name), value, name);
    assert.equal(plain.headers.get(name), value, name);
  }
  assert.match(PERMISSIONS_POLICY, /camera=\(\), /);
  assert.match(PERMISSIONS_POLICY, /geolocation=\(\)/);
  assert.equal(plain.headers.get("strict-transport-security"), null);
  const plainScore = await observatoryScore({ response: plain, https: false });
  assert.equal(
    plainScore.tests["strict-transport-security"].result,
    "hsts-not-implemented-no-https",
  );
  await close();
});

Deno.test("secureHeaders adds preload only when opted in and honours CORP same-site", () => {
  const hsts = (pairs: readonly (readonly [string, string])[]) =>
    pairs.find(([n]) => n === "strict-transport-security")?.[1];
  assert.equal(hsts(securityHeaderPairs({}, true)), "max-age=63072000; includeSubDomains");
  assert.equal(
    hsts(securityHeaderPairs({ hsts: { preload: true } }, true)),
    "max-age=63072000; includeSubDomains; preload",
  );
  assert.equal(hsts(securityHeaderPairs({ hsts: { preload: true } }, false)), undefined);
  const corp = securityHeaderPairs({ crossOriginResourcePolicy: "same-site" })
    .find(([n]) => n === "cross-origin-resource-policy");
  assert.deepEqual(corp, ["cross-origin-resource-policy", "same-site"]);
  // Any other CROSS_ORIGIN_RESOURCE_POLICY is refused by parseConfig (tests/config_test.ts).
});

Deno.test("secureHeaders strips Server and X-Powered-By and replaces handler-set duplicates", async () => {
  const { app, close } = hardenedApp();
  const response = await send(app, "GET", "/leaky", {
    headers: { origin: "https://evil.example" },
  });
  assert.equal(response.headers.get("server"), null);
  assert.equal(response.headers.get("x-powered-by"), null);
  // The handler's wildcard is removed: the origin is not allowlisted.
  assert.equal(response.headers.get("access-control-allow-origin"), null);
  assert.equal(response.headers.get("x-frame-options"), "DENY");
  assert.deepEqual(await response.json(), { ok: true });
  await close();
});

Deno.test("a 500 keeps the cause private: no SQL, path or stack reaches the client", async () => {
  const { app, close } = hardenedApp();
  const response = await send(app, "GET", "/boom");
  const text = await response.text();
  assert.equal(response.status, 500);
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  assert.doesNotMatch(text, /SELECT|users_repo|\/srv\/|at /);
  assert.equal(JSON.parse(text).code, "internal_error");
  await close();
});

Deno.test("error responses keep Retry-After, WWW-Authenticate and Allow next to the security headers", async () => {
  const { app, close } = hardenedApp();
  const limited = await send(app, "GET", "/limited");
  const unauthorized = await send(app, "GET", "/private");
  const notAllowed = await send(app, "DELETE", "/ok");
  assert.equal(limited.headers.get("retry-after"), "30");
  assert.equal(unauthorized.headers.get("www-authenticate"), 'Bearer realm="citadel"');
  assert.equal(notAllowed.headers.get("allow"), "GET, HEAD");
  for (const r of [limited, unauthorized, notAllowed]) {
    assert.equal(r.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    await r.body?.cancel();
  }
  await close();
});

Deno.test("the header fast path is active on this Deno and reaches the wire of a real Deno.serve", async () => {
  assert.equal(
    trustedHeadersFastPath(),
    true,
    "Deno internals changed: secure headers cost more now",
  );
  const { app, close } = hardenedApp();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  try {
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/ok`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    assert.equal(response.headers.get("permissions-policy"), PERMISSIONS_POLICY);
    assert.equal(response.headers.get("vary"), "Origin");
    assert.equal(response.headers.get("strict-transport-security"), null);
    assert.deepEqual(await response.json(), { ok: true });
  } finally {
    await server.shutdown();
    await close();
  }
});

Deno.test("observatoryScore() grades a response without security headers D and penalises each gap", async () => {
  const bare = await observatoryScore({ response: new Response("{}"), https: true });
  assert.equal(bare.score, 30);
  assert.equal(bare.grade, "D");
  assert.equal(bare.tests["content-security-policy"].modifier, -25);
  assert.equal(bare.tests["x-frame-options"].modifier, -20);
  assert.equal(bare.tests["strict-transport-security"].modifier, -20);
  assert.equal(bare.tests["x-content-type-options"].modifier, -5);
  const leaky = await observatoryScore({
    response: new Response("{}", {
      headers: [
        ["content-security-policy", "default-src 'self' 'unsafe-inline'"],
        ["set-cookie", "session=abc; Path=/"],
        ["strict-transport-security", "max-age=300"],
      ],
    }),
    https: true,
  });
  assert.equal(leaky.tests["content-security-policy"].result, "csp-implemented-with-unsafe-inline");
  assert.equal(leaky.tests["cookies"].result, "cookies-session-without-secure-flag");
  assert.equal(leaky.tests["strict-transport-security"].modifier, -10);
  assert.equal(leaky.grade, "F");
});
