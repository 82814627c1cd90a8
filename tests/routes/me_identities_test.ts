/**
 * `/api/v1/me/identities` over HTTP against a real OpenID provider (oidc-provider on loopback):
 * who may redeem a link code and how often, how long link and login codes live, unlinking
 * another account's identity, provider tokens at rest (OAUTH_STORE_TOKENS), a provider that
 * serves the profile only from userinfo, and the pre-account takeover of an address.
 */
import assert from "node:assert/strict";
import type { ManualClock } from "../../src/platform/clock.ts";
import { createFieldCipher, parseFieldKey } from "../../src/lib/field_crypto.ts";
import { OAUTH_LINK_CODE_TTL_MS, OAUTH_LOGIN_CODE_TTL_MS } from "../../src/services/oauth_flows.ts";
import { authed, login, registerUser, uniqueEmail } from "../support/auth_support.ts";
import { authPost, latestToken } from "../support/email_support.ts";
import { TEST_ENV, type TestApp } from "../support/helpers.ts";
import {
  oauthExchange as exchange,
  type OAuthSetUp,
  oauthSetUp as setUp,
  oauthSignIn as signIn,
} from "../support/oauth_support.ts";

/** Registers an account and confirms its address through the emailed link. */
async function verifiedUser(t: TestApp, prefix: string) {
  const user = await registerUser(t, uniqueEmail(prefix));
  const token = await latestToken(t, user.email, "verify_email");
  assert.equal((await authPost(t, "verify-email", { token })).status, 200);
  return user;
}

/** Signs in at the provider as `sub`, who asserts the verified `email`; the link code. */
async function linkCodeFor(s: OAuthSetUp, sub: string, email: string): Promise<string> {
  s.idp.accounts.set(sub, { sub, email, email_verified: true });
  const flow = await signIn(s.t, s.idp, sub);
  assert.equal(flow.fragment.get("error"), "link_required");
  return flow.fragment.get("link_code")!;
}

const link = (t: TestApp, token: string, code: string) =>
  authed(t, "POST", "/api/v1/me/identities/link", token, { link_code: code });

async function identities(t: TestApp, token: string) {
  const res = await authed(t, "GET", "/api/v1/me/identities", token);
  assert.equal(res.status, 200);
  return (await res.json()).identities as { id: string; provider: string; email: string }[];
}

async function assertProblem(res: Response, status: number, code: string) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(JSON.parse(text).code, code, text);
}

Deno.test("a link code offered to account A is 409 identity_taken once its provider subject was linked to account B, and that refusal spends it", async () => {
  await using s = await setUp();
  const a = await verifiedUser(s.t, "a");
  const b = await verifiedUser(s.t, "b");
  const offeredToA = await linkCodeFor(s, "sam", a.email);
  // The provider account changes its address to B's before A redeems the first offer.
  const offeredToB = await linkCodeFor(s, "sam", b.email);
  const bSession = await login(s.t, b.email);
  assert.equal((await link(s.t, bSession.access_token, offeredToB)).status, 200);

  const aSession = await login(s.t, a.email);
  await assertProblem(await link(s.t, aSession.access_token, offeredToA), 409, "identity_taken");
  assert.deepEqual(await identities(s.t, aSession.access_token), []);
  assert.equal((await identities(s.t, bSession.access_token)).length, 1);
  await assertProblem(
    await link(s.t, aSession.access_token, offeredToA),
    400,
    "invalid_oauth_code",
  );
});

Deno.test("a link code presented by another signed-in account is 400 invalid_oauth_code, links nothing and is not spent: its own account links it afterwards", async () => {
  await using s = await setUp();
  const owner = await verifiedUser(s.t, "owner");
  const other = await verifiedUser(s.t, "other");
  const code = await linkCodeFor(s, "olga", owner.email);
  const otherSession = await login(s.t, other.email);
  await assertProblem(await link(s.t, otherSession.access_token, code), 400, "invalid_oauth_code");
  assert.deepEqual(await identities(s.t, otherSession.access_token), []);
  assert.equal(
    await s.t.deps.db.selectFrom("oauth_identities").selectAll().executeTakeFirst(),
    undefined,
  );

  const ownerSession = await login(s.t, owner.email);
  const linked = await link(s.t, ownerSession.access_token, code);
  assert.equal(linked.status, 200);
  assert.equal((await linked.json()).email, owner.email);
});

Deno.test("a link code works once: replayed after its link it is 400 invalid_oauth_code, while a second code offered for the same identity answers the one already linked", async () => {
  await using s = await setUp();
  const user = await verifiedUser(s.t, "once");
  const first = await linkCodeFor(s, "otto", user.email);
  const second = await linkCodeFor(s, "otto", user.email);
  const session = await login(s.t, user.email);
  const linked = await link(s.t, session.access_token, first);
  assert.equal(linked.status, 200);
  const { id } = await linked.json();
  await assertProblem(await link(s.t, session.access_token, first), 400, "invalid_oauth_code");

  const again = await link(s.t, session.access_token, second);
  assert.equal(again.status, 200);
  assert.equal((await again.json()).id, id);
  assert.deepEqual((await identities(s.t, session.access_token)).map((i) => i.id), [id]);
  const audited = await s.t.deps.db.selectFrom("audit_events").select("action")
    .where("action", "=", "oauth.linked").execute();
  assert.equal(audited.length, 1, "one identity, one link event");
});

Deno.test("a link code is refused by the exchange and a login code by /link (400 invalid_oauth_code), each still working where it belongs", async () => {
  await using s = await setUp();
  const user = await verifiedUser(s.t, "kind");
  const linkCode = await linkCodeFor(s, "kim", user.email);
  await assertProblem(await exchange(s.t, linkCode), 400, "invalid_oauth_code");
  s.idp.accounts.set("newcomer", {
    sub: "newcomer",
    email: uniqueEmail("new"),
    email_verified: true,
  });
  const loginCode = (await signIn(s.t, s.idp, "newcomer")).fragment.get("code")!;
  const session = await login(s.t, user.email);
  await assertProblem(await link(s.t, session.access_token, loginCode), 400, "invalid_oauth_code");

  assert.equal((await link(s.t, session.access_token, linkCode)).status, 200);
  assert.equal((await exchange(s.t, loginCode)).status, 200);
});

Deno.test("a link code expires 10 minutes after the callback and a login code 60 seconds after it; one millisecond earlier each still works", async () => {
  await using s = await setUp();
  const clock = s.t.clock as ManualClock;
  const user = await verifiedUser(s.t, "late");
  const late = await linkCodeFor(s, "lars", user.email);
  clock.advance(OAUTH_LINK_CODE_TTL_MS);
  let session = await login(s.t, user.email);
  await assertProblem(await link(s.t, session.access_token, late), 400, "invalid_oauth_code");
  assert.deepEqual(await identities(s.t, session.access_token), []);
  const inTime = await linkCodeFor(s, "lars", user.email);
  clock.advance(OAUTH_LINK_CODE_TTL_MS - 1);
  session = await login(s.t, user.email);
  assert.equal((await link(s.t, session.access_token, inTime)).status, 200);

  s.idp.accounts.set("lea", { sub: "lea", email: uniqueEmail("lea"), email_verified: true });
  const slow = (await signIn(s.t, s.idp, "lea")).fragment.get("code")!;
  clock.advance(OAUTH_LOGIN_CODE_TTL_MS);
  await assertProblem(await exchange(s.t, slow), 400, "invalid_oauth_code");
  const quick = (await signIn(s.t, s.idp, "lea")).fragment.get("code")!;
  clock.advance(OAUTH_LOGIN_CODE_TTL_MS - 1);
  assert.equal((await exchange(s.t, quick)).status, 200);
});

Deno.test("unlinking another account's identity is 404 identity_not_found like an unknown id and leaves it linked; a malformed id is 422 validation_failed", async () => {
  await using s = await setUp();
  const victim = await verifiedUser(s.t, "victim");
  const other = await verifiedUser(s.t, "other");
  const victimSession = await login(s.t, victim.email);
  await link(s.t, victimSession.access_token, await linkCodeFor(s, "vera", victim.email));
  const [identity] = await identities(s.t, victimSession.access_token);
  const otherSession = await login(s.t, other.email);
  await link(s.t, otherSession.access_token, await linkCodeFor(s, "oscar", other.email));

  const unlink = (id: string) =>
    authed(s.t, "DELETE", `/api/v1/me/identities/${id}`, otherSession.access_token);
  const foreign = await (await unlink(identity.id)).json();
  const unknown = await (await unlink(crypto.randomUUID())).json();
  assert.equal(foreign.status, 404);
  assert.equal(foreign.code, "identity_not_found");
  assert.deepEqual([foreign.code, foreign.detail], [unknown.code, unknown.detail], "no leak");
  const malformed = await unlink("not-an-id");
  const body = await malformed.json();
  assert.equal(malformed.status, 422);
  assert.equal(body.code, "validation_failed");
  assert.deepEqual(body.errors.map((e: { field: string }) => e.field), ["id"]);
  assert.deepEqual(await identities(s.t, victimSession.access_token), [identity]);
  assert.equal((await identities(s.t, otherSession.access_token)).length, 1);
});

/** The identity rows' tokens column, by the subject at the provider. */
const tokensOf = async (
  t: TestApp,
  subject: string,
) => (await t.deps.db.selectFrom("oauth_identities").select(["id", "tokens"])
  .where("subject", "=", subject).executeTakeFirstOrThrow());

Deno.test("with OAUTH_STORE_TOKENS=true the identity keeps the provider's tokens encrypted: no access token in clear, and it decrypts to one the provider accepts", async () => {
  await using s = await setUp({ OAUTH_STORE_TOKENS: "true" });
  s.idp.accounts.set("tess", { sub: "tess", email: uniqueEmail("tess"), email_verified: true });
  const first = await exchange(s.t, (await signIn(s.t, s.idp, "tess")).fragment.get("code")!);
  assert.equal(first.status, 200);
  const row = await tokensOf(s.t, "tess");
  assert.ok(row.tokens, "the tokens are stored");
  assert.match(row.tokens, /^v1\./, "as a field-encryption envelope");

  const parsed = parseFieldKey(TEST_ENV.ENCRYPTION_KEY);
  assert.ok("key" in parsed);
  const cipher = await createFieldCipher({ current: parsed.key });
  const context = { table: "oauth_identities", column: "tokens", rowId: row.id };
  const { access_token } = JSON.parse(await cipher.decrypt(row.tokens, context));
  assert.ok(typeof access_token === "string" && access_token.length >= 20);
  assert.ok(!row.tokens.includes(access_token), "the access token is not in clear text");
  const discovery = await (await fetch(`${s.idp.issuer}/.well-known/openid-configuration`)).json();
  const info = await fetch(discovery.userinfo_endpoint, {
    headers: { authorization: `Bearer ${access_token}` },
  });
  assert.equal(info.status, 200, "the stored token is the provider's own");
  assert.equal((await info.json()).sub, "tess");

  // A later sign-in replaces them with that sign-in's tokens.
  assert.equal(
    (await exchange(s.t, (await signIn(s.t, s.idp, "tess")).fragment.get("code")!)).status,
    200,
  );
  const later = await tokensOf(s.t, "tess");
  const renewed = JSON.parse(await cipher.decrypt(later.tokens!, context)).access_token;
  assert.notEqual(renewed, access_token);
});

Deno.test("by default (OAUTH_STORE_TOKENS unset) an identity created or linked through the provider stores no token", async () => {
  await using s = await setUp();
  s.idp.accounts.set("nils", { sub: "nils", email: uniqueEmail("nils"), email_verified: true });
  assert.equal(
    (await exchange(s.t, (await signIn(s.t, s.idp, "nils")).fragment.get("code")!)).status,
    200,
  );
  const user = await verifiedUser(s.t, "nora");
  const session = await login(s.t, user.email);
  await link(s.t, session.access_token, await linkCodeFor(s, "nora", user.email));
  const rows = await s.t.deps.db.selectFrom("oauth_identities").select(["subject", "tokens"])
    .orderBy("subject").execute();
  assert.deepEqual(rows, [{ subject: "nils", tokens: null }, { subject: "nora", tokens: null }]);
});

Deno.test("a provider that serves email only from userinfo signs a new person up with that email, verified only when userinfo says so", async () => {
  await using s = await setUp({}, { idTokenClaims: false });
  const seen: Record<string, unknown>[] = [];
  s.idp.tamperIdToken = (claims) => (seen.push(claims), claims);
  for (const verified of [true, false]) {
    const email = uniqueEmail("info");
    s.idp.accounts.set(email, { sub: email, email, email_verified: verified });
    const res = await exchange(s.t, (await signIn(s.t, s.idp, email)).fragment.get("code")!);
    assert.equal(res.status, 200);
    const { user } = await res.json();
    assert.deepEqual([user.email, user.email_verified], [email, verified]);
  }
  assert.equal(seen.length, 2);
  assert.ok(seen.every((c) => !("email" in c) && !("email_verified" in c)), "not in the ID token");
});

Deno.test("pre-account takeover: a squatter's never-confirmed password account of the victim's address gets no link from the victim's verified provider sign-in (account_exists) and is left as it was", async () => {
  await using s = await setUp();
  const email = uniqueEmail("victim");
  const squatter = await registerUser(s.t, email);
  s.idp.accounts.set("victim", { sub: "victim", email, email_verified: true });
  const flow = await signIn(s.t, s.idp, "victim");
  assert.equal(flow.fragment.get("error"), "account_exists");
  assert.equal(flow.fragment.get("link_code"), null);
  assert.equal(flow.fragment.get("code"), null);
  const row = await s.t.deps.db.selectFrom("users").select("email_verified_at")
    .where("id", "=", squatter.id).executeTakeFirstOrThrow();
  assert.equal(row.email_verified_at, null);
  assert.equal((await login(s.t, email)).user.id, squatter.id, "the squatter's password works");
  assert.deepEqual(await s.t.deps.db.selectFrom("oauth_identities").selectAll().execute(), []);
  const failed = await s.t.deps.db.selectFrom("audit_events").select("details")
    .where("action", "=", "oauth.failed").execute();
  assert.equal(failed.length, 1);
  assert.match(String(failed[0].details), /account_email_unverified/);
});

Deno.test("pre-account takeover: a squatter who signed up through a provider with the victim's address unverified loses that identity when the victim resets the password, and its next sign-in gets account_exists", async () => {
  await using s = await setUp();
  const email = uniqueEmail("victim");
  s.idp.accounts.set("squatter", { sub: "squatter", email, email_verified: false });
  const signedUp = await exchange(
    s.t,
    (await signIn(s.t, s.idp, "squatter")).fragment.get("code")!,
  );
  const { user } = await signedUp.json();
  assert.deepEqual([user.email, user.email_verified], [email, false]);

  assert.equal((await authPost(s.t, "password-reset/request", { email })).status, 202);
  const token = await latestToken(s.t, email, "password_reset");
  const newPassword = "Granite-Harbor-Violet-93!";
  const reset = await authPost(s.t, "password-reset", { token, new_password: newPassword });
  assert.equal(reset.status, 204, await reset.clone().text());
  assert.deepEqual(await s.t.deps.db.selectFrom("oauth_identities").selectAll().execute(), []);

  const again = await signIn(s.t, s.idp, "squatter");
  assert.equal(again.fragment.get("error"), "account_exists");
  assert.equal(again.fragment.get("code"), null);
  assert.equal((await login(s.t, email, newPassword)).user.id, user.id, "the victim's now");
});

Deno.test("pre-account takeover: a squatter's provider sign-up with the victim's address unverified loses its identity at the victim's reset even after anyone had the address confirmed by its link", async () => {
  await using s = await setUp();
  const email = uniqueEmail("confirmed-victim");
  s.idp.accounts.set("squatter", { sub: "squatter", email, email_verified: false });
  const up = await exchange(s.t, (await signIn(s.t, s.idp, "squatter")).fragment.get("code")!);
  const { user } = await up.json();
  assert.equal(user.email_verified, false);
  assert.equal((await authPost(s.t, "verify-email/request", { email })).status, 202);
  const verify = await latestToken(s.t, email, "verify_email");
  assert.equal((await authPost(s.t, "verify-email", { token: verify })).status, 200);
  assert.equal((await authPost(s.t, "password-reset/request", { email })).status, 202);
  const token = await latestToken(s.t, email, "password_reset");
  const reset = await authPost(s.t, "password-reset", {
    token,
    new_password: "Granite-Harbor-Violet-93!",
  });
  assert.equal(reset.status, 204, await reset.clone().text());
  const left = await s.t.deps.db.selectFrom("oauth_identities").selectAll()
    .where("user_id", "=", user.id).execute();
  assert.deepEqual(left, []);
  const again = await signIn(s.t, s.idp, "squatter");
  assert.equal(again.fragment.get("error"), "account_exists");
  assert.equal(again.fragment.get("code"), null);
});
