import assert from "node:assert/strict";
import { CONTENT_SECURITY_POLICY } from "../../src/middleware/secure_headers.ts";
import { tempDir, TEST_SECRET } from "../support/helpers.ts";
import { buildWorker, CLOUDFLARE, startMiniflare } from "../support/miniflare.ts";
import { postJson as post, waitForLine } from "../support/spawned_server.ts";

const VARS = {
  APP_ENV: "test",
  JWT_SECRET_KEY: TEST_SECRET,
  ARGON2_MEMORY_KIB: "1024",
  ARGON2_TIME_COST: "1",
  // The per-IP auth limiter is not what these tests are about; the login guard is.
  RATE_LIMIT_AUTH_PER_MINUTE: "1000",
  RATE_LIMIT_AUTH_PER_HOUR: "1000",
  RATE_LIMIT_AUTH_PER_DAY: "1000",
  SUPER_ADMIN_USERNAME: "root",
  SUPER_ADMIN_PASSWORD: "Quartz-Meadow-Falcon-42",
  // A replayed refresh token is reuse at once, not a concurrent tab.
  REFRESH_GRACE_SECONDS: "0",
};

Deno.test("the bundled Worker in Miniflare with a local D1", async (t) => {
  await using dist = await tempDir();
  await buildWorker(dist.path);
  const server = await startMiniflare(dist.path, {
    vars: VARS,
    migrations: `${CLOUDFLARE}/migrations`,
  });
  const credentials = { email: "worker@example.com", password: "Tr1cky-Granite-Lantern" };
  try {
    await t.step("GET /health answers ok with the security headers", async () => {
      const response = await fetch(`${server.url}/health`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { status: "ok", version: "0.1.0", database: "ok" });
      assert.equal(response.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.equal(response.headers.get("x-frame-options"), "DENY");
      assert.equal(response.headers.get("referrer-policy"), "no-referrer");
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.match(response.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    });

    await t.step("register, login and /me work, with argon2id running in WebAssembly", async () => {
      const registered = await post(`${server.url}/api/v1/auth/register`, credentials);
      assert.equal(registered.status, 201, await registered.clone().text());
      const login = await post(`${server.url}/api/v1/auth/login`, credentials);
      assert.equal(login.status, 200, await login.clone().text());
      const { access_token: token, user } = await login.json();
      const me = await fetch(`${server.url}/api/v1/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(me.status, 200);
      const body = await me.json();
      assert.equal(body.user.id, user.id);
      assert.equal(body.user.email, credentials.email);
      assert.equal(me.headers.get("x-content-type-options"), "nosniff");
    });

    await t.step("refresh rotation, reuse detection and logout hold on D1", async () => {
      const login = await (await post(`${server.url}/api/v1/auth/login`, credentials)).json();
      const rotated = await post(`${server.url}/api/v1/auth/refresh`, {
        refresh_token: login.refresh_token,
      });
      assert.equal(rotated.status, 200, await rotated.clone().text());
      const next = await rotated.json();
      assert.notEqual(next.refresh_token, login.refresh_token);

      const replayed = await post(`${server.url}/api/v1/auth/refresh`, {
        refresh_token: login.refresh_token,
      });
      assert.equal(replayed.status, 401);
      assert.equal((await replayed.json()).code, "refresh_token_reused");
      // Reuse revoked the whole session: its newest access token is refused too.
      const revoked = await fetch(`${server.url}/api/v1/me`, {
        headers: { authorization: `Bearer ${next.access_token}` },
      });
      assert.equal(revoked.status, 401);
      await revoked.body?.cancel();

      const fresh = await (await post(`${server.url}/api/v1/auth/login`, credentials)).json();
      const bearer = { authorization: `Bearer ${fresh.access_token}` };
      const logout = await fetch(`${server.url}/api/v1/auth/logout`, {
        method: "POST",
        headers: bearer,
      });
      assert.equal(logout.status, 204);
      const after = await fetch(`${server.url}/api/v1/me`, { headers: bearer });
      assert.equal(after.status, 401);
      await after.body?.cancel();
    });

    await t.step("the super admin from Worker secrets exists and can log in", async () => {
      const login = await post(`${server.url}/api/v1/auth/login`, {
        email: VARS.SUPER_ADMIN_USERNAME,
        password: VARS.SUPER_ADMIN_PASSWORD,
      });
      assert.equal(login.status, 200, await login.clone().text());
      assert.equal((await login.json()).user.role, "super_admin");
    });

    await t.step(
      "repeated wrong passwords block the pair, even for the right password",
      async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          const wrong = await post(`${server.url}/api/v1/auth/login`, {
            ...credentials,
            password: `wrong-password-${i}`,
          });
          statuses.push(wrong.status);
          await wrong.body?.cancel();
        }
        assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
        const blocked = await post(`${server.url}/api/v1/auth/login`, credentials);
        assert.equal(blocked.status, 429);
        assert.ok(Number(blocked.headers.get("retry-after")) > 0);
        assert.equal(blocked.headers.get("content-type"), "application/problem+json");
        assert.equal((await blocked.json()).code, "too_many_attempts");
      },
    );

    await t.step("concurrent logins are all answered, none fails on the audit chain", async () => {
      const statuses = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
        const response = await post(`${server.url}/api/v1/auth/login`, {
          email: `nobody-${i}@example.com`,
          password: "not-a-real-password",
        });
        await response.body?.cancel();
        return response.status;
      }));
      assert.deepEqual(statuses, Array(12).fill(401));
    });

    await t.step("every audited event is one unbroken hash chain in D1", async () => {
      const admin = await (await post(`${server.url}/api/v1/auth/login`, {
        email: VARS.SUPER_ADMIN_USERNAME,
        password: VARS.SUPER_ADMIN_PASSWORD,
      })).json();
      const response = await fetch(`${server.url}/api/v1/admin/audit?limit=100`, {
        headers: { authorization: `Bearer ${admin.access_token}` },
      });
      assert.equal(response.status, 200, await response.clone().text());
      const events: { seq: number; action: string; prev_hash: string; hash: string }[] =
        (await response.json()).items.reverse();
      const actions = events.map((e) => e.action);
      assert.ok(actions.includes("auth.login.succeeded"), actions.join());
      assert.equal(actions.filter((a) => a === "auth.login.failed").length >= 5, true);
      events.forEach((event, i) => {
        assert.equal(event.seq, i + 1);
        if (i > 0) assert.equal(event.prev_hash, events[i - 1].hash);
      });
    });

    await t.step("requests are logged as JSON lines on the Worker console", async () => {
      const line = await waitForLine(server.output, /"msg":"request".*"path":"\/api\/v1\/me"/);
      assert.equal(JSON.parse(line).status, 200);
    });
  } finally {
    await server.stop();
  }

  await t.step(
    "without the migrations applied the Worker answers 503 and says how to apply them",
    async () => {
      const unmigrated = await startMiniflare(dist.path, { vars: VARS });
      try {
        const response = await fetch(`${unmigrated.url}/health`);
        assert.equal(response.status, 503);
        assert.equal((await response.json()).code, "not_ready");
        const line = await waitForLine(unmigrated.output, /"msg":"start-up failed"/);
        assert.match(line, /migrations pending: 0001_users.*wrangler d1 migrations apply/);
      } finally {
        await unmigrated.stop();
      }
    },
  );
});
