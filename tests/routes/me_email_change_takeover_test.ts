/**
 * An intruder who knew the password asked to move the account to their own address: the
 * owner's password reset or change ends that pending change, and a confirmed change ends
 * the links sent to the old address (a password reset above all).
 */
import assert from "node:assert/strict";
import {
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../support/auth_support.ts";
import { authPost, latestToken, userRow } from "../support/email_support.ts";
import { assertProblem } from "../support/mfa_support.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";

const NEW_PASSWORD = "Granite-Harbor-Violet-93!";

/** The intruder's pending change to their own address; returns its confirmation token. */
async function intruderAsksForChange(t: TestApp, email: string) {
  const session = await login(t, email);
  const intruderAddress = uniqueEmail("intruder");
  const res = await authed(t, "POST", "/api/v1/me/email", session.access_token, {
    new_email: intruderAddress,
    password: STRONG_PASSWORD,
  });
  assert.equal(res.status, 202, await res.clone().text());
  return await latestToken(t, intruderAddress, "email_change_confirm");
}

Deno.test("a password reset ends a pending email change: its confirmation is 400 invalid_token", async () => {
  const t = await buildTestApp();
  try {
    const owner = await registerUser(t);
    const change = await intruderAsksForChange(t, owner.email);
    assert.equal((await authPost(t, "password-reset/request", { email: owner.email })).status, 202);
    const reset = await latestToken(t, owner.email, "password_reset");
    const done = await authPost(t, "password-reset", { token: reset, new_password: NEW_PASSWORD });
    assert.equal(done.status, 204);
    await assertProblem(
      await authPost(t, "confirm-email-change", { token: change }),
      400,
      "invalid_token",
    );
    assert.equal((await userRow(t, owner.email)).email, owner.email, "the address stayed");
  } finally {
    await t.close();
  }
});

Deno.test("a password change ends a pending email change", async () => {
  const t = await buildTestApp();
  try {
    const owner = await registerUser(t);
    const change = await intruderAsksForChange(t, owner.email);
    const session = await login(t, owner.email);
    const changed = await authed(t, "POST", "/api/v1/me/password", session.access_token, {
      current_password: STRONG_PASSWORD,
      new_password: NEW_PASSWORD,
    });
    assert.equal(changed.status, 204, await changed.clone().text());
    await assertProblem(
      await authPost(t, "confirm-email-change", { token: change }),
      400,
      "invalid_token",
    );
  } finally {
    await t.close();
  }
});

Deno.test("a confirmed email change ends the reset link sent to the old address", async () => {
  const t = await buildTestApp();
  try {
    const owner = await registerUser(t);
    assert.equal((await authPost(t, "password-reset/request", { email: owner.email })).status, 202);
    const reset = await latestToken(t, owner.email, "password_reset");
    const change = await intruderAsksForChange(t, owner.email);
    assert.equal((await authPost(t, "confirm-email-change", { token: change })).status, 200);
    await assertProblem(
      await authPost(t, "password-reset", { token: reset, new_password: NEW_PASSWORD }),
      400,
      "invalid_token",
    );
  } finally {
    await t.close();
  }
});
