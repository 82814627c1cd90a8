import assert from "node:assert/strict";
import { DENO, TEST_SECRET } from "../support/helpers.ts";
import { postJson as post, spawnServer, waitForLine } from "../support/spawned_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ENTRY = `${ROOT}src/entry/deno_deploy.ts`;
const SERVER = `${ROOT}tests/support/deploy_server.ts`;
/**
 * What Deno Deploy grants: network and environment, no FFI (so no native addon can
 * load), no writes, no subprocesses. Reads are limited to node_modules, and only the
 * test's in-process WebAssembly database needs them (it loads its .wasm file).
 */
const DEPLOY_PERMISSIONS = [
  "--deny-ffi",
  "--deny-write",
  "--deny-run",
  "--allow-net=127.0.0.1",
  "--allow-env",
];
const ENV = {
  APP_ENV: "test",
  JWT_SECRET_KEY: TEST_SECRET,
  ARGON2_MEMORY_KIB: "1024",
  ARGON2_TIME_COST: "1",
  NO_COLOR: "1",
};

/** Spawns a Deno process with the given permissions and waits for the line with its port. */
async function spawn(args: string[], env: Record<string, string>, portOf: RegExp) {
  const server = await spawnServer(DENO, args, portOf, { env, clearEnv: true });
  return { ...server, url: `http://127.0.0.1:${server.ready[1]}` };
}

Deno.test("the Deploy entry serves health, register, login and me under Deploy permissions", async () => {
  const server = await spawn(
    ["run", ...DEPLOY_PERMISSIONS, `--allow-read=${ROOT}node_modules`, SERVER],
    ENV,
    /^\{"port":(\d+)\}$/,
  );
  try {
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok", version: "0.1.0", database: "ok" });

    const credentials = { email: "deploy@example.com", password: "Tr1cky-Granite-Lantern" };
    const registered = await post(`${server.url}/api/v1/auth/register`, credentials);
    assert.equal(registered.status, 201, await registered.clone().text());
    const { user } = await registered.json();
    assert.match(user.id, /^[0-9a-f-]{36}$/);

    const login = await post(`${server.url}/api/v1/auth/login`, credentials);
    assert.equal(login.status, 200, await login.clone().text());
    const tokens = await login.json();
    assert.equal(tokens.token_type, "Bearer");

    const me = await fetch(`${server.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).user.email, credentials.email);

    const wrong = await post(`${server.url}/api/v1/auth/login`, {
      ...credentials,
      password: "not-the-password",
    });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();

    // Migrations ran on the first request and were logged as JSON lines on the console.
    await waitForLine(server.output, /"msg":"migration applied","migration":"0001_users"/);
  } finally {
    await server.stop();
  }
});

Deno.test("the Deploy entry's default export talks to DATABASE_URL through the web client and answers 503 while it is down", async () => {
  const seen: { path: string; authorization: string | null }[] = [];
  // Stands in for an unhealthy Turso endpoint: records what reaches it, then fails.
  const database = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    seen.push({
      path: new URL(request.url).pathname,
      authorization: request.headers.get("authorization"),
    });
    return new Response("unavailable", { status: 503 });
  });
  const server = await spawn(
    ["serve", ...DEPLOY_PERMISSIONS, "--host", "127.0.0.1", "--port", "0", ENTRY],
    {
      ...ENV,
      DATABASE_URL: `http://127.0.0.1:${database.addr.port}`,
      DATABASE_AUTH_TOKEN: "turso-token-123",
    },
    /Listening on http:\/\/127\.0\.0\.1:(\d+)/,
  );
  try {
    const response = await fetch(`${server.url}/health`);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("content-type"), "application/problem+json");
    assert.equal(response.headers.get("retry-after"), "5");
    assert.equal((await response.json()).code, "not_ready");
    assert.ok(seen.length > 0, "the web client reached DATABASE_URL");
    assert.match(seen[0].path, /^\/v[23]\/pipeline$/);
    assert.equal(seen[0].authorization, "Bearer turso-token-123");
    await waitForLine(server.output, /"msg":"start-up failed"/);
  } finally {
    await server.stop();
    await database.shutdown();
  }
});

Deno.test("the Deploy entry answers 503 and names the problem in its log when JWT_SECRET_KEY is missing", async () => {
  const server = await spawn(
    ["serve", ...DEPLOY_PERMISSIONS, "--host", "127.0.0.1", "--port", "0", ENTRY],
    { NO_COLOR: "1", DATABASE_URL: "libsql://example.invalid" },
    /Listening on http:\/\/127\.0\.0\.1:(\d+)/,
  );
  try {
    const response = await fetch(`${server.url}/api/v1/me`);
    assert.equal(response.status, 503);
    assert.equal((await response.json()).code, "not_ready");
    const failure = await waitForLine(server.output, /"msg":"start-up failed"/);
    assert.match(failure, /JWT_SECRET_KEY: is required on Deno Deploy/);
  } finally {
    await server.stop();
  }
});

Deno.test("the Deploy entry's module graph contains no native addon", async () => {
  const out = await new Deno.Command(DENO, {
    args: ["info", "--json", ENTRY],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout));
  const specifiers: string[] = graph.modules.map((m: { specifier: string }) => m.specifier);
  assert.ok(specifiers.some((s) => s.includes("@libsql/client@") && s.endsWith("/web")));
  assert.ok(specifiers.some((s) => s.includes("hash-wasm@")));
  const native = specifiers.filter((s) =>
    s.includes("@node-rs/argon2") || /@libsql\/client@[^/]+\/node$/.test(s) ||
    /npm:\/?libsql@/.test(s) || s.endsWith("/src/db/connect.ts") ||
    s.endsWith("/src/platform/argon2_native.ts")
  );
  assert.deepEqual(native, []);
});
