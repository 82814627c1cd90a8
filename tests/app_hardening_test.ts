import assert from "node:assert/strict";
import { buildTestApp, request, type TestApp } from "./support/helpers.ts";
import { login, registerUser } from "./support/auth_support.ts";

const ORIGIN = "https://app.example.com";

/** Requests the real app as if over HTTPS behind a trusted proxy. */
function secureRequest(t: TestApp, method: string, path: string, init: {
  body?: unknown;
  headers?: Record<string, string>;
  ip?: string;
} = {}) {
  return request(t.app, method, path, {
    ...init,
    ip: "10.0.0.1",
    headers: {
      "x-forwarded-proto": "https",
      "x-forwarded-for": init.ip ?? "198.51.100.20",
      ...init.headers,
    },
  });
}

Deno.test("HSTS is sent only when the request arrived over HTTPS or via a trusted proxy", async () => {
  const t = await buildTestApp({ TRUSTED_PROXIES: "10.0.0.0/8" });
  try {
    const plain = await request(t.app, "GET", "/health");
    assert.equal(plain.headers.get("strict-transport-security"), null);
    const spoofed = await request(t.app, "GET", "/health", {
      headers: { "x-forwarded-proto": "https" },
      ip: "203.0.113.5",
    });
    assert.equal(spoofed.headers.get("strict-transport-security"), null, "untrusted peer");
    const proxied = await secureRequest(t, "GET", "/health");
    assert.ok(proxied.headers.get("strict-transport-security"));
    await Promise.all([plain, spoofed, proxied].map((r) => r.body?.cancel()));
  } finally {
    await t.close();
  }
});

Deno.test("ALLOWED_HOSTS refuses other Host headers with 400 invalid_host", async () => {
  const t = await buildTestApp({ ALLOWED_HOSTS: "api.example.com,.example.org" });
  try {
    const ask = (host: string) =>
      t.app.request(`http://${host}/health`, { headers: { host } }, {
        remoteAddr: { hostname: "127.0.0.1" },
      });
    for (const host of ["api.example.com", "API.EXAMPLE.COM:8443", "a.example.org"]) {
      const res = await ask(host);
      assert.equal(res.status, 200, host);
      await res.body?.cancel();
    }
    for (const host of ["evil.example", "example.org.evil.com", "api.example.com.evil"]) {
      const res = await ask(host);
      assert.equal(res.status, 400, host);
      assert.equal((await res.json()).code, "invalid_host");
      assert.equal(res.headers.get("x-frame-options"), "DENY", "errors keep security headers");
    }
  } finally {
    await t.close();
  }
});

Deno.test("the refresh cookie is __Host-, HttpOnly, Secure, SameSite=Strict and needs an allowed Origin", async () => {
  const t = await buildTestApp({
    REFRESH_COOKIE: "true",
    CORS_ORIGINS: ORIGIN,
    TRUSTED_PROXIES: "10.0.0.0/8",
  });
  try {
    const user = await registerUser(t);
    await login(t, user.email);
    const res = await secureRequest(t, "POST", "/api/v1/auth/login", {
      body: { email: user.email, password: "Quartz-Lantern-Orbit-71!" },
    });
    const setCookie = res.headers.get("set-cookie") ?? "";
    await res.body?.cancel();
    assert.match(setCookie, /^__Host-citadel_refresh=[A-Za-z0-9_-]{43}/);
    for (const attribute of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]) {
      assert.ok(setCookie.includes(attribute), attribute);
    }
    assert.ok(!/Domain=/i.test(setCookie));
    const cookie = setCookie.split(";")[0];

    const forged = await secureRequest(t, "POST", "/api/v1/auth/refresh", {
      headers: { cookie, origin: "https://evil.example" },
    });
    assert.equal(forged.status, 403);
    assert.equal((await forged.json()).code, "csrf_rejected");
    const missing = await secureRequest(t, "POST", "/api/v1/auth/refresh", { headers: { cookie } });
    assert.equal(missing.status, 403);
    await missing.body?.cancel();
    const allowed = await secureRequest(t, "POST", "/api/v1/auth/refresh", {
      headers: { cookie, origin: ORIGIN },
    });
    assert.equal(allowed.status, 200);
    assert.match(allowed.headers.get("set-cookie") ?? "", /^__Host-citadel_refresh=/);
    await allowed.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("CORS reflects only allowlisted origins, with Vary: Origin", async () => {
  const t = await buildTestApp({ CORS_ORIGINS: ORIGIN });
  try {
    const allowed = await request(t.app, "GET", "/health", { headers: { origin: ORIGIN } });
    assert.equal(allowed.headers.get("access-control-allow-origin"), ORIGIN);
    assert.match(allowed.headers.get("vary") ?? "", /Origin/i);
    for (const origin of ["https://evil.example", "null", "http://app.example.com"]) {
      const res = await request(t.app, "GET", "/health", { headers: { origin } });
      assert.equal(res.headers.get("access-control-allow-origin"), null, origin);
      assert.equal(res.headers.get("access-control-allow-credentials"), null, origin);
      await res.body?.cancel();
    }
    await allowed.body?.cancel();
  } finally {
    await t.close();
  }
});
