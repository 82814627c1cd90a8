/**
 * Issue 14, items 5, 7 and 20: the login guard throttles attackers without locking the
 * owner out, keys its budgets on the account, and explains limits in development. Each
 * test runs against the app served on a real loopback socket.
 */
import assert from "node:assert/strict";
import { insertUser } from "../../src/db/users_repo.ts";
import { hashPassword } from "../../src/services/passwords.ts";
import { type LoopbackApp, loopbackApp } from "../support/loopback_client.ts";
import { STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";

const WRONG = "Wrong-Password-123!";

function loginFrom(s: LoopbackApp, ip: string, body: Record<string, unknown>, cookie?: string) {
  return s.json("POST", "/api/v1/auth/login", {
    ip,
    body,
    // A browser sending the cookie also says the request is same-origin (CSRF guard).
    headers: cookie ? { cookie, "sec-fetch-site": "same-origin" } : undefined,
  });
}

async function registered(s: LoopbackApp) {
  const email = uniqueEmail();
  const res = await s.json("POST", "/api/v1/auth/register", {
    body: { email, password: STRONG_PASSWORD },
  });
  assert.equal(res.status, 201);
  return email;
}

Deno.test("a login sets a __Host- device cookie and returns the same credential as device_token", async () => {
  await using s = await loopbackApp();
  const email = await registered(s);
  const res = await loginFrom(s, "198.51.100.7", { email, password: STRONG_PASSWORD });
  assert.equal(res.status, 200);
  const token = res.body.device_token as string;
  assert.match(token, /^[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-citadel_device="));
  assert.ok(cookie, "device cookie set");
  assert.equal(cookie.split(";")[0], `__Host-citadel_device=${token}`);
  for (const attribute of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]) {
    assert.ok(cookie.includes(attribute), attribute);
  }
  assert.ok(!/Domain=/i.test(cookie));
});

Deno.test("failures from 21 networks cannot lock out the owner's device or known network", async () => {
  await using s = await loopbackApp();
  const email = await registered(s);
  const owner = await loginFrom(s, "198.51.100.7", { email, password: STRONG_PASSWORD });
  const deviceToken = owner.body.device_token as string;
  const cookie = `__Host-citadel_device=${deviceToken}`;

  // 5 wrong passwords from each of 21 networks spend the account's budget (100).
  for (let n = 0; n < 21; n++) {
    for (let i = 0; i < 5; i++) {
      const res = await loginFrom(s, `203.0.${n}.9`, { email, password: WRONG });
      assert.ok([401, 429].includes(res.status), `${res.status}`);
    }
  }
  const stranger = await loginFrom(s, "192.0.2.50", { email, password: STRONG_PASSWORD });
  assert.equal(stranger.status, 429, "a new network without a device credential waits");

  const byBody = await loginFrom(s, "192.0.2.50", {
    email,
    password: STRONG_PASSWORD,
    device_token: deviceToken,
  });
  assert.equal(byBody.status, 200, "the device credential in the body lets the owner in");
  const byCookie = await loginFrom(s, "192.0.2.51", { email, password: STRONG_PASSWORD }, cookie);
  assert.equal(byCookie.status, 200, "and so does the device cookie");
  const sameNetwork = await loginFrom(s, "198.51.100.200", { email, password: STRONG_PASSWORD });
  assert.equal(sameNetwork.status, 200, "another address in a /24 the owner used gets through");

  // Forged or foreign credentials count for nothing.
  const other = await registered(s);
  const foreign = (await loginFrom(s, "198.51.100.9", { email: other, password: STRONG_PASSWORD }))
    .body.device_token as string;
  const tampered = deviceToken.slice(0, -1) + (deviceToken.endsWith("A") ? "B" : "A");
  for (const device_token of [foreign, tampered, "garbage"]) {
    const res = await loginFrom(s, "100.64.1.60", {
      email,
      password: STRONG_PASSWORD,
      device_token,
    });
    assert.equal(res.status, 429, device_token);
  }
});

Deno.test("a device credential has its own budget: 5 failures lock that device only", async () => {
  await using s = await loopbackApp();
  const email = await registered(s);
  const owner = await loginFrom(s, "198.51.100.7", { email, password: STRONG_PASSWORD });
  const device_token = owner.body.device_token as string;
  for (let i = 0; i < 5; i++) {
    const res = await loginFrom(s, "192.0.2.1", { email, password: WRONG, device_token });
    assert.equal(res.status, 401);
  }
  const locked = await loginFrom(s, "192.0.2.1", {
    email,
    password: STRONG_PASSWORD,
    device_token,
  });
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers.get("retry-after")) > 0);
  const elsewhere = await loginFrom(s, "192.0.2.1", { email, password: STRONG_PASSWORD });
  assert.equal(elsewhere.status, 200, "the pair budget was not spent by the device's failures");
});

Deno.test("an account's username and email share one failure budget", async () => {
  await using s = await loopbackApp();
  const email = uniqueEmail("root");
  await insertUser(s.t.deps.db, {
    email,
    username: "operator-7f3a",
    passwordHash: await hashPassword(STRONG_PASSWORD, s.t.deps.hasher),
    role: "super_admin",
  }, Date.now());
  const ip = "192.0.2.77";
  for (let i = 0; i < 5; i++) {
    const login = i % 2 === 0 ? "operator-7f3a" : email;
    const res = await loginFrom(s, ip, { email: login, password: WRONG });
    assert.equal(res.status, 401);
  }
  for (const login of ["operator-7f3a", email]) {
    const res = await loginFrom(s, ip, { email: login, password: STRONG_PASSWORD });
    assert.equal(res.status, 429, `${login} shares the spent budget`);
  }
});

Deno.test("in development a 429 names the limit and the variable that raises it", async () => {
  for (const [appEnv, explained] of [["development", true], ["test", false]] as const) {
    await using s = await loopbackApp({
      APP_ENV: appEnv,
      RATE_LIMIT_AUTH_PER_MINUTE: "2",
    });
    let last;
    for (let i = 0; i < 3; i++) {
      last = await loginFrom(s, "192.0.2.5", { email: "nobody@example.com", password: WRONG });
    }
    assert.equal(last!.status, 429);
    assert.equal(last!.body.code, "rate_limited");
    assert.equal(
      /limit is 2 requests per minute .*RATE_LIMIT_AUTH_PER_MINUTE/.test(last!.body.detail),
      explained,
      `${appEnv}: ${last!.body.detail}`,
    );
  }
});
