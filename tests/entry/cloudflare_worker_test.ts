import assert from "node:assert/strict";
import * as OTPAuth from "otpauth";
import { CONTENT_SECURITY_POLICY } from "../../src/middleware/secure_headers.ts";
import { tempDir, TEST_ENV, TEST_SECRET } from "../support/helpers.ts";
import { buildWorker, CLOUDFLARE, startMiniflare } from "../support/miniflare.ts";
import { postJson as post, waitForLine } from "../support/spawned_server.ts";

const VARS = {
  APP_ENV: "test",
  JWT_SECRET_KEY: TEST_SECRET,
  // TOTP seeds are stored encrypted under it.
  ENCRYPTION_KEY: TEST_ENV.ENCRYPTION_KEY,
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

    await t.step("GET /health/live and /health/ready answer on D1 (counters in D1)", async () => {
      const live = await fetch(`${server.url}/health/live`);
      assert.equal(live.status, 200);
      assert.deepEqual(await live.json(), { status: "ok" });
      const ready = await fetch(`${server.url}/health/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), {
        status: "ready",
        checks: { database: "ok", migrations: "ok", counters: "ok" },
      });
    });

    await t.step(
      "the bundle fits Workers' 3 MB (compressed) limit and serves the API reference",
      async () => {
        const worker = await Deno.readFile(`${dist.path}/worker.js`);
        const compressed = await new Response(
          new Blob([worker]).stream().pipeThrough(new CompressionStream("gzip")),
        ).arrayBuffer();
        assert.ok(compressed.byteLength < 3_000_000, `${compressed.byteLength} bytes gzipped`);
        const page = await fetch(`${server.url}/docs`);
        assert.equal(page.status, 200);
        const script = /<script src="(\/docs\/scalar-[^"]+)"/.exec(await page.text())![1];
        const scalar = await fetch(`${server.url}${script}`);
        assert.equal(scalar.status, 200);
        assert.ok((await scalar.text()).includes("createApiReference"), "Scalar's script");
      },
    );

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

    await t.step("MFA on D1: enrol, then a login needs the code, accepted once", async () => {
      const account = { email: "mfa-worker@example.com", password: "Tr1cky-Granite-Lantern" };
      assert.equal((await post(`${server.url}/api/v1/auth/register`, account)).status, 201);
      const { access_token: token } = await (await post(`${server.url}/api/v1/auth/login`, account))
        .json();
      const bearer = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const enrol = await fetch(`${server.url}/api/v1/me/mfa/totp`, {
        method: "POST",
        headers: bearer,
      });
      assert.equal(enrol.status, 200, await enrol.clone().text());
      const { secret } = await enrol.json();
      const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) });
      const now = Date.now();
      const verified = await fetch(`${server.url}/api/v1/me/mfa/totp/verify`, {
        method: "POST",
        headers: bearer,
        body: JSON.stringify({ code: totp.generate({ timestamp: now - 30_000 }) }),
      });
      assert.equal(verified.status, 200, await verified.clone().text());
      assert.equal((await verified.json()).recovery_codes.length, 10);
      const challenge = await (await post(`${server.url}/api/v1/auth/login`, account)).json();
      assert.equal(challenge.mfa_required, true);
      const code = totp.generate({ timestamp: now });
      const done = await post(`${server.url}/api/v1/auth/mfa`, {
        mfa_token: challenge.mfa_token,
        code,
      });
      assert.equal(done.status, 200, await done.clone().text());
      assert.ok((await done.json()).access_token);
      const again = await (await post(`${server.url}/api/v1/auth/login`, account)).json();
      const replay = await post(`${server.url}/api/v1/auth/mfa`, {
        mfa_token: again.mfa_token,
        code,
      });
      assert.equal(replay.status, 401);
      assert.equal((await replay.json()).code, "invalid_mfa_code");
    });

    await t.step("requests are logged as JSON lines on the Worker console", async () => {
      const line = await waitForLine(server.output, /"msg":"request".*"path":"\/api\/v1\/me"/);
      assert.equal(JSON.parse(line).status, 200);
    });
  } finally {
    await server.stop();
  }

  await t.step(
    "with JWT_ALGORITHM=EdDSA on D1: the first key is created, published and signs; rotate, promote and retire hold",
    async () => {
      const vars = {
        ...VARS,
        JWT_ALGORITHM: "EdDSA",
        ENCRYPTION_KEY: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))),
        JWKS_PUBLISH_DELAY: "0",
      };
      const eddsa = await startMiniflare(dist.path, {
        vars,
        migrations: `${CLOUDFLARE}/migrations`,
      });
      try {
        const jwks = async () => {
          const response = await fetch(`${eddsa.url}/.well-known/jwks.json`);
          assert.equal(response.status, 200);
          assert.equal(response.headers.get("cache-control"), "public, max-age=300");
          return ((await response.json()).keys as { kid: string; alg: string; d?: string }[]);
        };
        const admin = async () => {
          const login = await post(`${eddsa.url}/api/v1/auth/login`, {
            email: vars.SUPER_ADMIN_USERNAME,
            password: vars.SUPER_ADMIN_PASSWORD,
          });
          assert.equal(login.status, 200, await login.clone().text());
          return (await login.json()).access_token as string;
        };
        const kidOf = (token: string) =>
          JSON.parse(atob(token.split(".")[0].replaceAll("-", "+").replaceAll("_", "/"))).kid;
        const me = async (token: string) => {
          const response = await fetch(`${eddsa.url}/api/v1/me`, {
            headers: { authorization: `Bearer ${token}` },
          });
          await response.body?.cancel();
          return response.status;
        };
        const call = async (token: string, path: string) => {
          const response = await fetch(`${eddsa.url}/api/v1/admin/keys${path}`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}` },
          });
          assert.equal(response.status, 200, await response.clone().text());
          return await response.json();
        };

        const first = await admin();
        const [key] = await jwks();
        assert.equal(key.alg, "EdDSA");
        assert.equal(key.d, undefined);
        assert.equal(kidOf(first), key.kid);
        assert.equal(await me(first), 200);

        const published = await call(first, "/rotate");
        assert.equal(published.action, "published");
        assert.deepEqual(
          (await jwks()).map((k) => k.kid).sort(),
          [key.kid, published.next.kid].sort(),
        );
        const promoted = await call(first, "/rotate");
        assert.equal(promoted.action, "promoted");
        assert.equal(promoted.current.kid, published.next.kid);
        assert.equal(promoted.previous.kid, key.kid);
        const second = await admin();
        assert.equal(kidOf(second), published.next.kid, "the promoted key signs");
        assert.equal(await me(first), 200, "a token of the previous key still verifies");

        await call(second, `/${key.kid}/retire`);
        assert.ok(!(await jwks()).some((k) => k.kid === key.kid));
        assert.equal(await me(first), 401, "the retired key's token is refused");
        assert.equal(await me(second), 200);
      } finally {
        await eddsa.stop();
      }
    },
  );

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
