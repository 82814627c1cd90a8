/**
 * Lockout recovery (issue 18): when guessing from many networks spends an account's
 * per-email failure budget (LOGIN_EMAIL_MAX_ATTEMPTS, small here), the owner signing in from
 * a new network is refused 429 too, and gets, once per guard window, a message with a
 * single-use unlock link; POST /api/v1/auth/unlock turns it into a device credential that
 * lets the owner in, with the password, while the attack goes on.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";
import { authPost, onlyMessage, outbox, tokenFrom } from "../support/email_support.ts";
import { assertProblem, auditRows } from "../support/mfa_support.ts";

const WRONG_PASSWORD = "Wrong-Password-123!";
const EMAIL_BUDGET = 3;
const WINDOW_MINUTES = 15;
const GUARD_ENV = {
  LOGIN_EMAIL_MAX_ATTEMPTS: String(EMAIL_BUDGET),
  LOGIN_WINDOW_MINUTES: String(WINDOW_MINUTES),
  EMAIL_LINK_BASE_URL: "https://app.example.com/account",
};

let network = 0;
/** An address in a /24 nobody has used yet. */
function newNetwork(): string {
  network++;
  return `10.${Math.floor(network / 250)}.${network % 250}.7`;
}

function loginFrom(t: TestApp, ip: string, body: Record<string, unknown>) {
  return authPost(t, "login", body, ip);
}

/** Spends the account's email budget from as many networks, then one refused attempt. */
async function spendBudget(t: TestApp, email: string) {
  for (let i = 0; i < EMAIL_BUDGET; i++) {
    const res = await loginFrom(t, newNetwork(), { email, password: WRONG_PASSWORD });
    await assertProblem(res, 401, "invalid_credentials");
  }
  const refused = await loginFrom(t, newNetwork(), { email, password: WRONG_PASSWORD });
  await assertProblem(refused, 429, "too_many_attempts");
}

Deno.test("a spent per-email budget refuses the owner on a new network (429) and queues exactly one unlock message per window", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp(GUARD_ENV, { clock });
  try {
    const user = await registerUser(t);
    await spendBudget(t, user.email);
    // The attack goes on, and the owner tries from a network of their own.
    for (let i = 0; i < 4; i++) {
      const res = await loginFrom(t, newNetwork(), { email: user.email, password: WRONG_PASSWORD });
      await assertProblem(res, 429, "too_many_attempts");
    }
    const owner = await loginFrom(t, newNetwork(), {
      email: user.email,
      password: STRONG_PASSWORD,
    });
    const refused = await assertProblem(owner, 429, "too_many_attempts");
    assert.doesNotMatch(JSON.stringify(refused), /unlock|#token/);
    assert.ok(Number(owner.headers.get("retry-after")) > 0);

    const message = await onlyMessage(t, user.email, "unlock");
    assert.equal(message.subject, "Sign-in attempts on your account are being blocked");
    const token = tokenFrom(message);
    assert.ok(message.text_body.includes(`https://app.example.com/account/unlock#token=${token}`));
    assert.deepEqual((await outbox(t, { kind: "unlock" })).length, 1);
    const offered = await auditRows(t, "auth.unlock_offered");
    assert.equal(offered.length, 1);
    assert.equal(offered[0].target_id, user.id);
    const blocked = await auditRows(t, "auth.login.blocked");
    assert.ok(blocked.length >= 6);
    for (const e of blocked) assert.equal(e.details.reason, "email");

    // The next window: a new attack, a new link.
    clock.advance(WINDOW_MINUTES * 60_000 + 1_000);
    await spendBudget(t, user.email);
    const again = await loginFrom(t, newNetwork(), { email: user.email, password: WRONG_PASSWORD });
    await assertProblem(again, 429, "too_many_attempts");
    assert.equal((await outbox(t, { to: user.email, kind: "unlock" })).length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("an unlock link gives a device credential (200 {device_token}, audited auth.unlocked) that signs the owner in from a new network while the attack goes on; the link works once", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp(GUARD_ENV, { clock });
  try {
    const user = await registerUser(t);
    await spendBudget(t, user.email);
    const token = tokenFrom(await onlyMessage(t, user.email, "unlock"));

    const ownerIp = newNetwork();
    const res = await authPost(t, "unlock", { token }, ownerIp);
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(Object.keys(body), ["device_token"]);
    const deviceToken = body.device_token as string;
    assert.match(deviceToken, /^[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-citadel_device="));
    assert.ok(cookie, "the device cookie is set too");
    assert.equal(cookie.split(";")[0], `__Host-citadel_device=${deviceToken}`);

    const [event] = await auditRows(t, "auth.unlocked");
    assert.equal(event.target_id, user.id);
    assert.equal(event.outcome, "success");
    assert.equal(event.ip, ownerIp);

    // The attack goes on: still refused, the owner without the credential too.
    await assertProblem(
      await loginFrom(t, newNetwork(), { email: user.email, password: WRONG_PASSWORD }),
      429,
      "too_many_attempts",
    );
    await assertProblem(
      await loginFrom(t, ownerIp, { email: user.email, password: STRONG_PASSWORD }),
      429,
      "too_many_attempts",
    );
    // With it (and the password), the owner is in, from a network never seen before.
    const withDevice = await loginFrom(t, newNetwork(), {
      email: user.email,
      password: STRONG_PASSWORD,
      device_token: deviceToken,
    });
    assert.equal(withDevice.status, 200, await withDevice.clone().text());
    assert.equal((await withDevice.json()).user.id, user.id);
    // The credential does not replace the password.
    await assertProblem(
      await loginFrom(t, newNetwork(), {
        email: user.email,
        password: WRONG_PASSWORD,
        device_token: deviceToken,
      }),
      401,
      "invalid_credentials",
    );

    await assertProblem(await authPost(t, "unlock", { token }), 400, "invalid_token");
    await assertProblem(await authPost(t, "unlock", { token: "garbage" }), 400, "invalid_token");
    assert.equal((await auditRows(t, "auth.unlocked")).length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("an unlock link expires after an hour", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp(GUARD_ENV, { clock });
  try {
    const user = await registerUser(t);
    await spendBudget(t, user.email);
    const token = tokenFrom(await onlyMessage(t, user.email, "unlock"));
    clock.advance(60 * 60_000 + 1_000);
    await assertProblem(await authPost(t, "unlock", { token }), 400, "invalid_token");
    assert.deepEqual(await auditRows(t, "auth.unlocked"), []);
  } finally {
    await t.close();
  }
});

Deno.test("with a one-minute guard window an attack still mails the owner at most five unlock links an hour", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({ ...GUARD_ENV, LOGIN_WINDOW_MINUTES: "1" }, { clock });
  try {
    const user = await registerUser(t);
    for (let minute = 0; minute < 10; minute++) {
      await spendBudget(t, user.email);
      clock.advance(61_000);
    }
    assert.equal((await outbox(t, { kind: "unlock" })).length, 5);
  } finally {
    await t.close();
  }
});
