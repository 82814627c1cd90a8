/**
 * A password reset as account recovery from someone who registered the owner's address
 * first (EMAIL_VERIFICATION=optional): the reset also removes the second factor and revokes
 * the API keys set up before the address was confirmed (all of them, when it never was), since
 * a confirmation does not tell who set them up; what was set up after it stays (the owner's).
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { authed, login, registerUser } from "../support/auth_support.ts";
import { authPost, latestToken } from "../support/email_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { mfaUser, midStepMs, STEP_MS, totp } from "../support/mfa_support.ts";

const OWNERS_PASSWORD = "Granite-Harbor-Violet-93!";

/** A user with MFA on and an API key; returns the key. */
async function withFactorAndKey(t: TestApp, clock: ManualClock) {
  const user = await mfaUser(t, clock);
  const created = await authed(t, "POST", "/api/v1/api-keys", user.accessToken, {
    name: "ci",
    scopes: ["me:read"],
  });
  assert.equal(created.status, 201, await created.clone().text());
  return { user, key: (await created.json()).key as string };
}

async function reset(t: TestApp, email: string) {
  assert.equal((await authPost(t, "password-reset/request", { email })).status, 202);
  const token = await latestToken(t, email, "password_reset");
  const done = await authPost(t, "password-reset", { token, new_password: OWNERS_PASSWORD });
  assert.equal(done.status, 204, await done.clone().text());
}

const keyWorks = async (t: TestApp, key: string) =>
  (await request(t.app, "GET", "/api/v1/me", { headers: { "x-api-key": key } })).status === 200;

Deno.test("a reset of an account whose address was never confirmed removes its second factor and revokes its API keys", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const { user, key } = await withFactorAndKey(t, clock);
    assert.ok(await keyWorks(t, key));
    await reset(t, user.email);
    assert.equal(await keyWorks(t, key), false, "the squatter's key is revoked");
    const login = await authPost(t, "login", { email: user.email, password: OWNERS_PASSWORD });
    assert.equal(login.status, 200);
    const body = await login.json();
    assert.ok(body.access_token, "no second step: the squatter's factor is gone");
    assert.equal(body.user.mfa_enabled, false);
    assert.equal(body.user.email_verified, true, "the reset link proved the address");
  } finally {
    await t.close();
  }
});

Deno.test("a reset removes the second factor and API keys set up before the address was confirmed: a confirmation does not tell who set them up", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const { user, key } = await withFactorAndKey(t, clock);
    const verify = await latestToken(t, user.email, "verify_email");
    assert.equal((await authPost(t, "verify-email", { token: verify })).status, 200);
    await reset(t, user.email);
    assert.equal(await keyWorks(t, key), false, "the squatter's key is revoked");
    const login = await authPost(t, "login", { email: user.email, password: OWNERS_PASSWORD });
    assert.equal(login.status, 200);
    assert.equal((await login.json()).user.mfa_enabled, false, "the squatter's factor is gone");
  } finally {
    await t.close();
  }
});

Deno.test("a reset keeps the second factor and API keys set up after the address was confirmed", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const verify = await latestToken(t, user.email, "verify_email");
    assert.equal((await authPost(t, "verify-email", { token: verify })).status, 200);
    clock.advance(1_000);
    const tokens = await login(t, user.email);
    const started = await authed(t, "POST", "/api/v1/me/mfa/totp", tokens.access_token);
    const { secret } = await started.json() as { secret: string };
    const enrolled = await authed(t, "POST", "/api/v1/me/mfa/totp/verify", tokens.access_token, {
      code: totp(secret, clock.now()),
    });
    assert.equal(enrolled.status, 200, await enrolled.clone().text());
    const created = await authed(t, "POST", "/api/v1/api-keys", tokens.access_token, {
      name: "ci",
      scopes: ["me:read"],
    });
    const { key } = await created.json() as { key: string };
    clock.advance(STEP_MS);
    await reset(t, user.email);
    assert.ok(await keyWorks(t, key), "the owner's key still works");
    const again = await authPost(t, "login", { email: user.email, password: OWNERS_PASSWORD });
    assert.equal(again.status, 200);
    assert.equal((await again.json()).mfa_required, true, "the owner's factor stays");
  } finally {
    await t.close();
  }
});
