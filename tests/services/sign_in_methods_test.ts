/**
 * An account keeps a way to sign in (services/sign_in_methods.ts), checked after the removal
 * inside its transaction: two concurrent unlinks of a password-less account's two identities
 * leave one, and the last passkey of an account with no password and no identity stays.
 */
import assert from "node:assert/strict";
import { authed, uniqueEmail } from "../support/auth_support.ts";
import { assertProblem } from "../support/mfa_support.ts";
import { oauthExchange, oauthSetUp, oauthSignIn } from "../support/oauth_support.ts";
import { insertPasskey } from "../support/passkey_support.ts";

Deno.test("two concurrent unlinks of a password-less account's two identities: one is 204, the other 409 last_sign_in_method, and one identity is left", async () => {
  await using s = await oauthSetUp();
  const email = uniqueEmail("two-ids");
  s.idp.accounts.set("one", { sub: "one", email, email_verified: true });
  s.idp.accounts.set("two", { sub: "two", email, email_verified: true });
  const first = await (await oauthExchange(
    s.t,
    (await oauthSignIn(s.t, s.idp, "one")).fragment.get("code")!,
  )).json();
  const offer = await oauthSignIn(s.t, s.idp, "two");
  const linked = await authed(s.t, "POST", "/api/v1/me/identities/link", first.access_token, {
    link_code: offer.fragment.get("link_code"),
  });
  assert.equal(linked.status, 200);
  const { identities } = await (await authed(
    s.t,
    "GET",
    "/api/v1/me/identities",
    first.access_token,
  )).json();
  assert.equal(identities.length, 2);

  const answers = await Promise.all(
    identities.map((i: { id: string }) =>
      authed(s.t, "DELETE", `/api/v1/me/identities/${i.id}`, first.access_token)
    ),
  );
  assert.deepEqual(answers.map((r) => r.status).sort(), [204, 409]);
  await assertProblem(answers.find((r) => r.status === 409)!, 409, "last_sign_in_method");
  const left = await s.t.deps.db.selectFrom("oauth_identities").selectAll().execute();
  assert.equal(left.length, 1);
});

Deno.test("the last passkey of an account with no password and no identity left is 409 last_sign_in_method and stays", async () => {
  await using s = await oauthSetUp();
  s.idp.accounts.set("uma", { sub: "uma", email: uniqueEmail("uma"), email_verified: true });
  const body = await (await oauthExchange(
    s.t,
    (await oauthSignIn(s.t, s.idp, "uma")).fragment.get("code")!,
  )).json();
  const passkeyId = await insertPasskey(s.t, body.user.id);
  const { identities } = await (await authed(
    s.t,
    "GET",
    "/api/v1/me/identities",
    body.access_token,
  )).json();
  const unlinked = await authed(
    s.t,
    "DELETE",
    `/api/v1/me/identities/${identities[0].id}`,
    body.access_token,
  );
  assert.equal(unlinked.status, 204, "the passkey remains, so the identity may go");
  const removed = await authed(
    s.t,
    "DELETE",
    `/api/v1/me/passkeys/${passkeyId}`,
    body.access_token,
  );
  await assertProblem(removed, 409, "last_sign_in_method");
  const passkeys = await s.t.deps.db.selectFrom("passkeys").select("id").execute();
  assert.deepEqual(passkeys.map((p) => p.id), [passkeyId]);
});
