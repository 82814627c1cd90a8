import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import type { PasswordHasher } from "../../src/platform/password_hasher.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";

function countingHasher() {
  const counter = { verifications: 0 };
  const wrap = (inner: PasswordHasher): PasswordHasher => ({
    params: inner.params,
    hash: (p) => inner.hash(p),
    verify: (phc, p) => {
      counter.verifications++;
      return inner.verify(phc, p);
    },
  });
  return { counter, wrap };
}

function attempt(t: TestApp, email: string, password: string, ip = "203.0.113.7") {
  return request(t.app, "POST", "/api/v1/auth/login", { body: { email, password }, ip });
}

Deno.test("50 simultaneous wrong logins for one pair verify the password at most 5 times", async () => {
  const { counter, wrap } = countingHasher();
  const t = await buildTestApp({ RATE_LIMIT_ENABLED: "false" }, { wrapHasher: wrap });
  try {
    const user = await registerUser(t);
    counter.verifications = 0;
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => attempt(t, user.email, "Wrong-Password-123!")),
    );
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.body?.cancel()));
    assert.ok(counter.verifications <= 5, `${counter.verifications} verifications`);
    assert.equal(statuses.filter((s) => s === 401).length, 5);
    assert.equal(statuses.filter((s) => s === 429).length, 45);
  } finally {
    await t.close();
  }
});

Deno.test("a blocked pair gets 429 with Retry-After even for the right password, until the window passes", async () => {
  const clock = new ManualClock(Date.now());
  const { counter, wrap } = countingHasher();
  const t = await buildTestApp({ RATE_LIMIT_ENABLED: "false" }, { clock, wrapHasher: wrap });
  try {
    const user = await registerUser(t);
    for (let i = 0; i < 5; i++) {
      const res = await attempt(t, user.email, "Wrong-Password-123!");
      assert.equal(res.status, 401);
      await res.body?.cancel();
    }
    counter.verifications = 0;
    const blocked = await attempt(t, user.email, STRONG_PASSWORD);
    assert.equal(blocked.status, 429);
    assert.equal((await blocked.json()).code, "too_many_attempts");
    assert.equal(blocked.headers.get("retry-after"), "900");
    assert.equal(counter.verifications, 0, "no verification while blocked");

    // Attempts during the block are not counted: the block still ends on time.
    for (let minute = 1; minute < 15; minute++) {
      clock.advance(60_000);
      const res = await attempt(t, user.email, "Wrong-Password-123!");
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), String(900 - minute * 60));
      await res.body?.cancel();
    }
    clock.advance(59_999);
    const almost = await attempt(t, user.email, STRONG_PASSWORD);
    assert.equal(almost.status, 429);
    await almost.body?.cancel();
    clock.advance(1);
    const open = await attempt(t, user.email, STRONG_PASSWORD);
    assert.equal(open.status, 200);
    await open.body?.cancel();
    const other = await attempt(t, user.email, STRONG_PASSWORD, "198.51.100.1");
    assert.equal(other.status, 200, "other addresses were never blocked");
    await other.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("a successful login clears the pair; unknown emails count like known ones", async () => {
  const t = await buildTestApp({ RATE_LIMIT_ENABLED: "false" });
  try {
    const user = await registerUser(t);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) {
        await (await attempt(t, user.email, "Wrong-Password-123!")).body?.cancel();
      }
      const ok = await attempt(t, user.email, STRONG_PASSWORD);
      assert.equal(ok.status, 200, `round ${round}`);
      await ok.body?.cancel();
    }
    for (let i = 0; i < 5; i++) {
      await (await attempt(t, "ghost@example.com", "Wrong-Password-123!")).body?.cancel();
    }
    const ghost = await attempt(t, "ghost@example.com", "Wrong-Password-123!");
    assert.equal(ghost.status, 429);
    await ghost.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("20 failures from one address across emails block that address (credential stuffing)", async () => {
  const t = await buildTestApp({ RATE_LIMIT_ENABLED: "false" });
  try {
    const user = await registerUser(t);
    for (let i = 0; i < 20; i++) {
      const res = await attempt(t, `victim${i}@example.com`, "Wrong-Password-123!", "192.0.2.50");
      assert.equal(res.status, 401);
      await res.body?.cancel();
    }
    const res = await attempt(t, user.email, STRONG_PASSWORD, "192.0.2.50");
    assert.equal(res.status, 429);
    await res.body?.cancel();
  } finally {
    await t.close();
  }
});
