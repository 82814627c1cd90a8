import assert from "node:assert/strict";
import { type ServerProcess, startServer, tempDir, TEST_SECRET } from "../support/helpers.ts";
import { STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";

/** Two real server processes on one database file. */
async function twoServers(
  dir: string,
  extraEnv: Record<string, string> = {},
): Promise<[ServerProcess, ServerProcess]> {
  const env = {
    DATABASE_URL: `file:${dir}/shared.db`,
    JWT_SECRET_KEY: TEST_SECRET,
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_TIME_COST: "1",
    SUPER_ADMIN_PASSWORD: "Bootstrap-Harbor-Pass-91!",
    RATE_LIMIT_ENABLED: "false",
    ...extraEnv,
  };
  const a = await startServer(env, { cwd: dir });
  return [a, await startServer(env, { cwd: dir })];
}

function call(
  server: ServerProcess,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
) {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Registers and logs in through `server`; returns the Bearer header. */
async function signIn(server: ServerProcess) {
  const credentials = { email: uniqueEmail(), password: STRONG_PASSWORD };
  await (await call(server, "POST", "/api/v1/auth/register", {}, credentials)).body?.cancel();
  const res = await call(server, "POST", "/api/v1/auth/login", {}, credentials);
  const { access_token } = await res.json();
  return { authorization: `Bearer ${access_token}` };
}

/** Milliseconds until `probe` answers 401, polling every 25 ms for up to 3 s. */
async function msUntilRefused(probe: () => Promise<Response>): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < 3000) {
    const res = await probe();
    await res.body?.cancel();
    if (res.status === 401) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 25));
  }
  return Infinity;
}

Deno.test("logout on one server process is honoured by another on the same database within 1 s", async () => {
  await using dir = await tempDir();
  const [a, b] = await twoServers(dir.path);
  try {
    const bearer = await signIn(a);
    const me = () => call(b, "GET", "/api/v1/me", bearer);
    assert.equal((await me()).status, 200);
    assert.equal((await call(a, "POST", "/api/v1/auth/logout", bearer)).status, 204);
    const refusedAfter = await msUntilRefused(me);
    assert.ok(refusedAfter <= 1000, `refused after ${refusedAfter} ms`);
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("an API key revoked through one process is refused by another within 1 s", async () => {
  await using dir = await tempDir();
  const [a, b] = await twoServers(dir.path);
  try {
    const bearer = await signIn(a);
    const created = await (await call(a, "POST", "/api/v1/api-keys", bearer, {
      name: "svc",
      scopes: ["me:read"],
    })).json();
    const me = () => call(b, "GET", "/api/v1/me", { "x-api-key": created.key });
    assert.equal((await me()).status, 200);
    const del = await call(a, "DELETE", `/api/v1/api-keys/${created.api_key.id}`, bearer);
    assert.equal(del.status, 204);
    const refusedAfter = await msUntilRefused(me);
    assert.ok(refusedAfter <= 1000, `refused after ${refusedAfter} ms`);
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("two processes on one database share the login guard's pair counter", async () => {
  await using dir = await tempDir();
  const [a, b] = await twoServers(dir.path, { RATE_LIMIT_STORE: "database" });
  try {
    const credentials = { email: uniqueEmail(), password: STRONG_PASSWORD };
    await (await call(a, "POST", "/api/v1/auth/register", {}, credentials)).body?.cancel();
    const wrong = { ...credentials, password: "Wrong-Password-123!" };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await call(i % 2 === 0 ? a : b, "POST", "/api/v1/auth/login", {}, wrong);
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const right = await call(b, "POST", "/api/v1/auth/login", {}, credentials);
    assert.equal(right.status, 429, "blocked on both, even with the right password");
    await right.body?.cancel();
  } finally {
    await a.stop();
    await b.stop();
  }
});
