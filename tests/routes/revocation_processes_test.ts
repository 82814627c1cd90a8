import assert from "node:assert/strict";
import { startServer, tempDir, TEST_SECRET } from "../helpers.ts";
import { STRONG_PASSWORD, uniqueEmail } from "./auth_support.ts";

Deno.test("logout on one server process is honoured by another on the same database within 1 s", async () => {
  await using dir = await tempDir();
  const env = {
    DATABASE_URL: `file:${dir.path}/shared.db`,
    JWT_SECRET_KEY: TEST_SECRET,
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_TIME_COST: "1",
    SUPER_ADMIN_PASSWORD: "Bootstrap-Admin-Pass-91!",
    RATE_LIMIT_ENABLED: "false",
  };
  const a = await startServer(env, { cwd: dir.path });
  const b = await startServer(env, { cwd: dir.path });
  try {
    const email = uniqueEmail();
    const post = (server: typeof a, path: string, body: unknown, token?: string) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
    assert.equal(
      (await post(a, "/api/v1/auth/register", { email, password: STRONG_PASSWORD })).status,
      201,
    );
    const tokens = await (await post(a, "/api/v1/auth/login", { email, password: STRONG_PASSWORD }))
      .json();
    const me = (server: typeof a) =>
      fetch(`${server.url}/api/v1/me`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
    const before = await me(b);
    assert.equal(before.status, 200);
    await before.body?.cancel();

    const logout = await post(a, "/api/v1/auth/logout", {}, tokens.access_token);
    assert.equal(logout.status, 204);
    const loggedOutAt = performance.now();
    let refusedAfter = Infinity;
    while (performance.now() - loggedOutAt < 3000) {
      const res = await me(b);
      await res.body?.cancel();
      if (res.status === 401) {
        refusedAfter = performance.now() - loggedOutAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(refusedAfter <= 1000, `refused after ${refusedAfter} ms`);
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("an API key revoked through one process is refused by another within 1 s", async () => {
  await using dir = await tempDir();
  const env = {
    DATABASE_URL: `file:${dir.path}/keys.db`,
    JWT_SECRET_KEY: TEST_SECRET,
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_TIME_COST: "1",
    SUPER_ADMIN_PASSWORD: "Bootstrap-Admin-Pass-91!",
    RATE_LIMIT_ENABLED: "false",
  };
  const a = await startServer(env, { cwd: dir.path });
  const b = await startServer(env, { cwd: dir.path });
  try {
    const email = uniqueEmail();
    const call = (server: typeof a, method: string, path: string, headers = {}, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    await (await call(a, "POST", "/api/v1/auth/register", {}, { email, password: STRONG_PASSWORD }))
      .body?.cancel();
    const { access_token } = await (await call(a, "POST", "/api/v1/auth/login", {}, {
      email,
      password: STRONG_PASSWORD,
    })).json();
    const bearer = { authorization: `Bearer ${access_token}` };
    const created = await (await call(a, "POST", "/api/v1/api-keys", bearer, {
      name: "svc",
      scopes: ["me:read"],
    })).json();
    const me = () => call(b, "GET", "/api/v1/me", { "x-api-key": created.key });
    const before = await me();
    assert.equal(before.status, 200);
    await before.body?.cancel();
    const del = await call(a, "DELETE", `/api/v1/api-keys/${created.api_key.id}`, bearer);
    assert.equal(del.status, 204);
    const revokedAt = performance.now();
    let refusedAfter = Infinity;
    while (performance.now() - revokedAt < 3000) {
      const res = await me();
      await res.body?.cancel();
      if (res.status === 401) {
        refusedAfter = performance.now() - revokedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(refusedAfter <= 1000, `refused after ${refusedAfter} ms`);
  } finally {
    await a.stop();
    await b.stop();
  }
});
