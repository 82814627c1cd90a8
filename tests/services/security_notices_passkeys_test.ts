/**
 * The security notices of passkeys (src/services/security_notices.ts `passkeyChanged`): the owner
 * hears of a passkey added and of one removed, by name, in the transaction of the change.
 */
import assert from "node:assert/strict";
import { authed, login, registerUser, uniqueEmail } from "../support/auth_support.ts";
import { outbox } from "../support/email_support.ts";
import { buildTestApp } from "../support/helpers.ts";
import { SoftAuthenticator } from "../support/soft_authenticator.ts";
import { passkeySignIn, passkeyUser } from "../support/passkey_support.ts";

Deno.test("adding and removing a passkey each queue a security notice naming it to the owner", async () => {
  const t = await buildTestApp();
  try {
    const email = uniqueEmail("notice");
    await registerUser(t, email);
    const { access_token: token } = await login(t, email);
    const options = await (await authed(t, "POST", "/api/v1/me/passkeys/options", token)).json();
    const created = await authed(t, "POST", "/api/v1/me/passkeys", token, {
      name: "Work laptop",
      response: await (await SoftAuthenticator.create()).register(options),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const added = await outbox(t, { kind: "security_notice" });
    assert.deepEqual(added.map((r) => r.recipient), [email]);
    assert.match(added[0].subject, /A passkey named "Work laptop" was added to your account/);
    assert.match(added[0].text_body, /If this was not you/);

    const removed = await authed(
      t,
      "DELETE",
      `/api/v1/me/passkeys/${(await created.json()).id}`,
      token,
    );
    assert.equal(removed.status, 204);
    const notices = await outbox(t, { kind: "security_notice" });
    assert.equal(notices.length, 2);
    assert.match(
      notices[1].subject,
      /The passkey named "Work laptop" was removed from your account/,
    );
  } finally {
    await t.close();
  }
});

Deno.test("a passkey suspended by a counter regression queues a notice naming it and saying what to do", async () => {
  const t = await buildTestApp();
  try {
    const user = await passkeyUser(t, uniqueEmail("suspended"));
    assert.equal((await passkeySignIn(t, user.authenticator)).status, 200);
    assert.equal(
      (await passkeySignIn(t, user.authenticator, { tweaks: { counter: 1 } })).status,
      401,
    );
    const notices = await outbox(t, { kind: "security_notice" });
    const suspended = notices.filter((n) => /was suspended/.test(n.subject));
    assert.deepEqual(suspended.map((n) => n.recipient), [user.email]);
    assert.match(suspended[0].subject, /The passkey named "Laptop" was suspended/);
    assert.match(suspended[0].text_body, /Remove it on your account page/);
  } finally {
    await t.close();
  }
});
