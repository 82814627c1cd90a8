/**
 * `/api/v1/me/passkeys` refuses before the ceremony what it would refuse after it: registration
 * options at the 20-passkey limit (so no authenticator creates a passkey that cannot be kept),
 * and names that would disguise themselves in lists and confirmations.
 */
import assert from "node:assert/strict";
import { authed } from "../support/auth_support.ts";
import { buildTestApp } from "../support/helpers.ts";
import { assertProblem } from "../support/mfa_support.ts";
import { creationOptions, insertPasskey, passkeyUser } from "../support/passkey_support.ts";
import { SoftAuthenticator } from "../support/soft_authenticator.ts";

Deno.test("POST /me/passkeys/options at the 20-passkey limit is 409 passkey_limit_reached and issues no challenge", async () => {
  const t = await buildTestApp();
  try {
    const user = await passkeyUser(t);
    for (let i = 1; i < 20; i++) await insertPasskey(t, user.id, `key ${i}`);
    const before = await t.deps.db.selectFrom("passkey_challenges").select("challenge_hash")
      .execute();
    const res = await authed(t, "POST", "/api/v1/me/passkeys/options", user.accessToken);
    await assertProblem(res, 409, "passkey_limit_reached");
    const after = await t.deps.db.selectFrom("passkey_challenges").select("challenge_hash")
      .execute();
    assert.equal(after.length, before.length, "no challenge was stored");
  } finally {
    await t.close();
  }
});

Deno.test("a passkey name with control or formatting characters (newline, bidi override) is 422 on register and rename", async () => {
  const t = await buildTestApp();
  try {
    const user = await passkeyUser(t);
    for (const name of ["Laptop\nAdmin", "\u202eevil.exe", "tab\there", "zero\u200bwidth"]) {
      const options = await creationOptions(t, user.accessToken);
      const created = await authed(t, "POST", "/api/v1/me/passkeys", user.accessToken, {
        name,
        response: await (await SoftAuthenticator.create()).register(options),
      });
      await assertProblem(created, 422, "validation_failed");
      const renamed = await authed(
        t,
        "PATCH",
        `/api/v1/me/passkeys/${user.passkey.id}`,
        user.accessToken,
        { name },
      );
      await assertProblem(renamed, 422, "validation_failed");
    }
    const accepted = await authed(
      t,
      "PATCH",
      `/api/v1/me/passkeys/${user.passkey.id}`,
      user.accessToken,
      { name: "Ada's phone — work (ÄÖ) 🔑" },
    );
    assert.equal(accepted.status, 200, await accepted.clone().text());
    assert.equal((await accepted.json()).name, "Ada's phone — work (ÄÖ) 🔑");
  } finally {
    await t.close();
  }
});
