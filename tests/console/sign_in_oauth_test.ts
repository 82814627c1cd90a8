/**
 * Signing in to the console with a provider, against a real OpenID provider on loopback: the
 * sign-in page's buttons, the console's start (on to the provider with the flow cookie), the
 * return page the script posts the fragment from, the exchange (a new person's account, an
 * MFA user's second step), a code slipped in from another browser refused, the provider's
 * errors worded (never echoed), and a pending link confirmed on the account page.
 */
import assert from "node:assert/strict";
import {
  CONSOLE_COOKIE,
  CONSOLE_ORIGIN,
  csrfOf,
  getPage,
  postForm,
  setCookieOf,
  signIn,
} from "../support/console_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { oauthSetUp } from "../support/oauth_support.ts";
import { driveAuthorization, type TestOidcProvider } from "../support/oidc_provider.ts";
import { registerUser, uniqueEmail } from "../support/auth_support.ts";
import { mfaUser, totp } from "../support/mfa_support.ts";
import type { ManualClock } from "../../src/platform/clock.ts";

const RETURN = "http://localhost/account/sign-in/oauth";

/** A browser's cookie jar: `name=value` pairs, updated from each answer. */
class Jar {
  #cookies = new Map<string, string>();
  take(res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
      const gone = attributes.some((a) => /max-age=0\b/i.test(a.trim())) || value === "";
      if (gone) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    return res;
  }
  has(name: string): boolean {
    return this.#cookies.has(name);
  }
  get header(): string {
    return [...this.#cookies].map(([n, v]) => `${n}=${v}`).join("; ");
  }
}

/**
 * A browser signing in with the provider as `sub` from the console's button, up to the return
 * page: answers the fragment the provider's callback sent to the return page.
 */
async function toReturnPage(t: TestApp, idp: TestOidcProvider, sub: string, jar: Jar) {
  const page = jar.take(await getPage(t, "/account/sign-in", jar.header));
  const html = await page.text();
  const href = /href="(\/account\/sign-in\/oauth\/testidp\?next=[^"]+)"/.exec(html)?.[1];
  assert.ok(href, "the sign-in page has the provider's button");
  const start = jar.take(await getPage(t, href.replaceAll("&amp;", "&"), jar.header));
  assert.equal(start.status, 303, await start.clone().text());
  assert.ok(jar.has("__Host-citadel_oauth") && jar.has("__Host-citadel_console_oauth"));
  const back = await driveAuthorization(idp, start.headers.get("location")!, sub);
  const callback = jar.take(
    await request(t.app, "GET", back.pathname + back.search, { headers: { cookie: jar.header } }),
  );
  assert.equal(callback.status, 302, await callback.clone().text());
  const location = new URL(callback.headers.get("location")!);
  assert.equal(location.origin + location.pathname, RETURN);
  return new URLSearchParams(location.hash.slice(1));
}

/**
 * The return page's script: posts the fragment's fields with the page's CSRF token, as Chromium
 * posts a form of a no-referrer page (`Origin: null`, `Sec-Fetch-Site: same-origin`).
 */
async function postReturn(t: TestApp, jar: Jar, fragment: URLSearchParams) {
  const page = jar.take(await getPage(t, "/account/sign-in/oauth", jar.header));
  assert.equal(page.status, 200);
  const body = new URLSearchParams({
    _csrf: csrfOf(await page.text()),
    code: fragment.get("code") ?? "",
    error: fragment.get("error") ?? "",
    link_code: fragment.get("link_code") ?? "",
  }).toString();
  return jar.take(
    await t.app.request(`${CONSOLE_ORIGIN}/account/sign-in/oauth`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "content-length": String(body.length),
        origin: "null",
        "sec-fetch-site": "same-origin",
        cookie: jar.header,
      },
      body,
    }, { remoteAddr: { hostname: "127.0.0.1" } }),
  );
}

Deno.test("the sign-in page shows a button per enabled provider, and none without providers", async () => {
  await using s = await oauthSetUp();
  const html = await (await getPage(s.t, "/account/sign-in?next=%2Faccount%2Fpasskeys")).text();
  assert.match(
    html,
    /<a class="button secondary" href="\/account\/sign-in\/oauth\/testidp\?next=%2Faccount%2Fpasskeys">Sign in with Testidp<\/a>/,
  );
  const plain = await buildTestApp();
  try {
    assert.doesNotMatch(await (await getPage(plain, "/account/sign-in")).text(), /Sign in with T/);
  } finally {
    await plain.close();
  }
});

Deno.test("a new person signs up from the console's button: the return page posts the code, the console session opens on /account, which lists the provider", async () => {
  await using s = await oauthSetUp();
  const email = uniqueEmail("console-oauth");
  s.idp.accounts.set("olga", { sub: "olga", email, email_verified: true });
  const jar = new Jar();
  const fragment = await toReturnPage(s.t, s.idp, "olga", jar);
  assert.ok(fragment.get("code"));

  const page = await getPage(s.t, "/account/sign-in/oauth", jar.header);
  assert.equal(page.headers.get("cache-control"), "no-store");
  const html = await page.text();
  assert.match(html, /<form method="post" action="\/account\/sign-in\/oauth" data-oauth-return/);
  assert.doesNotMatch(html, /<script>|\son\w+="/, "no inline script or handler");

  const done = await postReturn(s.t, jar, fragment);
  assert.equal(done.status, 303, await done.clone().text());
  assert.equal(done.headers.get("location"), "/account");
  assert.ok(jar.has(CONSOLE_COOKIE));
  assert.ok(!jar.has("__Host-citadel_console_oauth"), "the console's flow cookie is spent");
  const account = await (await getPage(s.t, "/account", jar.header)).text();
  assert.match(account, new RegExp(email.replace(/[.+]/g, "\\$&")));
  assert.match(account, /<h2 id="identities">Sign-in providers<\/h2>/);
  assert.match(account, /<td>Testidp<\/td>/);
  assert.match(account, />Unlink Testidp<\/button>/);
});

Deno.test("a code from another browser's sign-in is refused on the console (no login CSRF), and a return without a sign-in started here is 400", async () => {
  await using s = await oauthSetUp();
  s.idp.accounts.set("mallory", {
    sub: "mallory",
    email: uniqueEmail("mallory"),
    email_verified: true,
  });
  s.idp.accounts.set("victim", { sub: "victim", email: uniqueEmail("v"), email_verified: true });
  const attacker = await toReturnPage(s.t, s.idp, "mallory", new Jar());
  const victim = new Jar();
  await toReturnPage(s.t, s.idp, "victim", victim); // the victim's own flow cookies
  const slipped = await postReturn(s.t, victim, attacker);
  assert.equal(slipped.status, 400);
  assert.match(await slipped.text(), /That sign-in took too long or was already used/);
  assert.ok(!victim.has(CONSOLE_COOKIE), "nobody is signed in");

  const stranger = new Jar();
  stranger.take(await getPage(s.t, "/account/sign-in"));
  const unstarted = await postReturn(s.t, stranger, new URLSearchParams({ code: "x" }));
  assert.equal(unstarted.status, 400);
  assert.match(await unstarted.text(), /not started from this browser/);
});

Deno.test("the provider's errors are worded on the sign-in page, an unknown one is never echoed", async () => {
  await using s = await oauthSetUp();
  s.idp.accounts.set("pat", { sub: "pat", email: uniqueEmail("pat"), email_verified: true });
  const cases: Array<[string, RegExp]> = [
    ["access_denied", /The sign-in with the provider was cancelled/],
    ["account_exists", /An account already uses that email address/],
    ["<b>injected</b>", /The provider sent nothing back/],
  ];
  for (const [error, words] of cases) {
    const jar = new Jar();
    await toReturnPage(s.t, s.idp, "pat", jar);
    const res = await postReturn(s.t, jar, new URLSearchParams({ error }));
    assert.equal(res.status, 400, error);
    const html = await res.text();
    assert.match(html, words, error);
    assert.doesNotMatch(html, /injected/, error);
    assert.match(html, /Sign in with Testidp/, "the buttons are offered again");
  }
});

Deno.test("a user with TOTP who signs in with the provider gets the console's second-factor form, then the session", async () => {
  await using s = await oauthSetUp();
  const clock = s.t.clock as ManualClock;
  const user = await mfaUser(s.t, clock, uniqueEmail("quinn"));
  await s.t.deps.db.updateTable("users").set({ email_verified_at: clock.now() })
    .where("id", "=", user.id).execute();
  s.idp.accounts.set("quinn", { sub: "quinn", email: user.email, email_verified: true });
  const offer = await toReturnPage(s.t, s.idp, "quinn", new Jar());
  const linked = await request(s.t.app, "POST", "/api/v1/me/identities/link", {
    body: { link_code: offer.get("link_code") },
    headers: { authorization: `Bearer ${user.accessToken}` },
  });
  assert.equal(linked.status, 200);

  const jar = new Jar();
  const step = await postReturn(s.t, jar, await toReturnPage(s.t, s.idp, "quinn", jar));
  assert.equal(step.status, 200);
  const html = await step.text();
  const mfaToken = /name="mfa_token" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(mfaToken, "the second-factor form");
  assert.ok(!jar.has(CONSOLE_COOKIE));
  const done = jar.take(
    await postForm(s.t, "/account/sign-in/mfa", jar.header, {
      _csrf: csrfOf(html),
      mfa_token: mfaToken,
      code: totp(user.secret, clock.now()),
    }),
  );
  assert.equal(done.status, 303);
  assert.ok(jar.has(CONSOLE_COOKIE));
});

Deno.test("a verified provider email of an existing account: the owner signs in, links it from /account, then unlinks it there", async () => {
  await using s = await oauthSetUp();
  const email = uniqueEmail("rita");
  const user = await registerUser(s.t, email);
  await s.t.deps.db.updateTable("users").set({ email_verified_at: Date.now() })
    .where("id", "=", user.id).execute();
  s.idp.accounts.set("rita", { sub: "rita", email, email_verified: true });
  const jar = new Jar();
  const offer = await postReturn(s.t, jar, await toReturnPage(s.t, s.idp, "rita", jar));
  assert.equal(offer.status, 200);
  assert.match(await offer.text(), /An account already uses your Testidp email address/);
  assert.ok(jar.has("__Host-citadel_link"));
  assert.ok(!jar.has(CONSOLE_COOKIE), "nobody is signed in by the provider alone");

  const session = await signIn(s.t, email);
  const link = jar.header.split("; ").find((c) => c.startsWith("__Host-citadel_link="))!;
  const both = `${session}; ${link}`;
  const account = await (await getPage(s.t, "/account", both)).text();
  assert.match(account, />Link Testidp<\/button>/);
  const linked = await postForm(s.t, "/account/identities/link", both, {
    _csrf: csrfOf(account),
  });
  assert.equal(linked.status, 303);
  assert.equal(linked.headers.get("location"), "/account?done=identity_linked");
  assert.match(setCookieOf(linked, "__Host-citadel_link") ?? "", /^__Host-citadel_link=$/);
  const identities = await s.t.deps.db.selectFrom("oauth_identities").selectAll().execute();
  assert.equal(identities.length, 1);
  assert.equal(identities[0].user_id, user.id);

  const unlinked = await postForm(s.t, `/account/identities/${identities[0].id}/unlink`, session, {
    _csrf: csrfOf(account),
  });
  assert.equal(unlinked.status, 303);
  assert.equal(unlinked.headers.get("location"), "/account?done=identity_unlinked");
  assert.equal((await s.t.deps.db.selectFrom("oauth_identities").selectAll().execute()).length, 0);
});

Deno.test("the account page refuses to unlink the only way an account signs in, with the API's words", async () => {
  await using s = await oauthSetUp();
  s.idp.accounts.set("sven", { sub: "sven", email: uniqueEmail("sven"), email_verified: true });
  const jar = new Jar();
  await postReturn(s.t, jar, await toReturnPage(s.t, s.idp, "sven", jar));
  const account = await (await getPage(s.t, "/account", jar.header)).text();
  const id = /action="\/account\/identities\/([0-9a-f-]+)\/unlink"/.exec(account)?.[1];
  assert.ok(id);
  const res = await postForm(s.t, `/account/identities/${id}/unlink`, jar.header, {
    _csrf: csrfOf(account),
  });
  assert.equal(res.status, 409);
  assert.match(await res.text(), /<p class="error" role="alert">[^<]*sign in/);
  assert.equal((await s.t.deps.db.selectFrom("oauth_identities").selectAll().execute()).length, 1);
});

Deno.test("an account a provider created has no password: /account says how to set one instead of asking for it, and a step-up offers the provider again", async () => {
  await using s = await oauthSetUp();
  s.idp.accounts.set("tove", { sub: "tove", email: uniqueEmail("tove"), email_verified: true });
  const jar = new Jar();
  await postReturn(s.t, jar, await toReturnPage(s.t, s.idp, "tove", jar));
  const account = await (await getPage(s.t, "/account", jar.header)).text();
  assert.match(account, /Your account has no password/);
  assert.match(account, /<a href="\/account\/forgot-password">ask for a reset link<\/a>/);
  assert.doesNotMatch(account, /Current password/);
  assert.doesNotMatch(account, /action="\/account\/(email|password)"/);

  const stepUp = await (await getPage(s.t, "/account/reauthenticate?next=%2Faccount", jar.header))
    .text();
  assert.match(stepUp, /This needs a recent sign-in. Sign in again with/);
  const href = /href="(\/account\/sign-in\/oauth\/testidp\?next=%2Faccount&amp;reauthenticate=1)"/
    .exec(stepUp)?.[1];
  assert.ok(href, "the step-up's provider button asks for a new sign-in at the provider");
  assert.doesNotMatch(stepUp, /name="password"/);
  const start = await getPage(s.t, href.replaceAll("&amp;", "&"), jar.header);
  assert.equal(start.status, 303);
  const authorization = new URL(start.headers.get("location")!);
  assert.equal(authorization.searchParams.get("prompt"), "login");
  assert.equal(authorization.searchParams.get("max_age"), "0");

  const password = await registerUser(s.t);
  const passwordPage = await (await getPage(s.t, "/account", await signIn(s.t, password.email)))
    .text();
  assert.doesNotMatch(passwordPage, /Your account has no password/);
  assert.match(passwordPage, /action="\/account\/password"/);
});
