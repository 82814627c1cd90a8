/**
 * The account page's security sections through the console's forms: turning two-factor
 * authentication on with the page's key (QR code and text), the recovery codes shown once,
 * signing in with a code and with a recovery code, and API keys created, shown once, rotated
 * and revoked, each checked against the API.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { registerUser } from "../support/auth_support.ts";
import { csrfFor, getPage, postForm, signIn } from "../support/console_support.ts";
import { buildTestApp, request } from "../support/helpers.ts";
import { midStepMs, STEP_MS, totp } from "../support/mfa_support.ts";

Deno.test("two-factor: the enrolment page shows a QR code and the key, its code turns MFA on, and sign-in then asks for a code or a recovery code", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const start = await postForm(t, "/account/mfa/start", cookie, {
      _csrf: await csrfFor(t, cookie),
    });
    assert.equal(start.status, 200);
    const page = await start.text();
    assert.match(
      page,
      /<div class="qr" role="img" aria-label="[^"]+"><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
    );
    const secret = /id="totp-secret"[^>]*>([A-Z2-7]+)</.exec(page)?.[1];
    assert.ok(secret, "the key is shown as text");
    const confirmed = await postForm(t, "/account/mfa/confirm", cookie, {
      _csrf: await csrfFor(t, cookie),
      code: totp(secret, clock.now()),
    });
    assert.equal(confirmed.status, 200);
    const codes = [
      ...(await confirmed.text()).matchAll(/<li[^>]*>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})<\/li>/g),
    ]
      .map((m) => m[1]);
    assert.equal(codes.length, 10, "the recovery codes, shown once");
    clock.advance(STEP_MS);

    const withCode = await signIn(t, user.email, undefined, { code: totp(secret, clock.now()) });
    assert.equal((await getPage(t, "/account", withCode)).status, 200);
    assert.match(
      await (await getPage(t, "/account", withCode)).text(),
      /9 recovery codes left|10 recovery codes left/,
    );

    // A recovery code in the code field of the second step.
    const form = await getPage(t, "/account/sign-in");
    const anonymous = form.headers.getSetCookie()[0].split(";")[0];
    const html = await form.text();
    const step = await postForm(t, "/account/sign-in", anonymous, {
      _csrf: /name="_csrf" value="([^"]+)"/.exec(html)![1],
      email: user.email,
      password: "Quartz-Lantern-Orbit-71!",
    });
    const second = await step.text();
    const done = await postForm(t, "/account/sign-in/mfa", anonymous, {
      _csrf: /name="_csrf" value="([^"]+)"/.exec(second)![1],
      mfa_token: /name="mfa_token" value="([^"]+)"/.exec(second)![1],
      recovery_code: codes[0],
    });
    assert.equal(done.status, 303, await done.clone().text());
    const used = await postForm(t, "/account/sign-in/mfa", anonymous, {
      _csrf: /name="_csrf" value="([^"]+)"/.exec(second)![1],
      mfa_token: /name="mfa_token" value="([^"]+)"/.exec(second)![1],
      recovery_code: codes[0],
    });
    assert.notEqual(used.status, 303, "a used recovery code does not sign in again");
  } finally {
    await t.close();
  }
});

Deno.test("API keys: created with scopes and expiry and shown once, working through the API, rotated, revoked", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const created = await postForm(t, "/account/api-keys", cookie, {
      _csrf: await csrfFor(t, cookie),
      name: "ci <deploy>",
      "scope:me:read": "on",
      expires_in_days: "30",
    });
    assert.equal(created.status, 200);
    const page = await created.text();
    const key = /id="api-key"[^>]*>(ctd_[^<]+)</.exec(page)?.[1];
    assert.ok(key, "the secret is shown");
    assert.match(page, /data-copy="api-key" hidden/);
    assert.ok(page.includes("ci &lt;deploy&gt;"));
    const me = () => request(t.app, "GET", "/api/v1/me", { headers: { "x-api-key": key } });
    assert.equal((await me()).status, 200);

    const account = await (await getPage(t, "/account", cookie)).text();
    assert.ok(!account.includes(key), "never shown again");
    const id = /action="\/account\/api-keys\/([0-9a-f-]{36})\/revoke"/.exec(account)?.[1];
    assert.ok(id);
    const rotated = await postForm(t, `/account/api-keys/${id}/rotate`, cookie, {
      _csrf: await csrfFor(t, cookie),
    });
    assert.equal(rotated.status, 200);
    const fresh = /id="api-key"[^>]*>(ctd_[^<]+)</.exec(await rotated.text())?.[1];
    assert.ok(fresh && fresh !== key);

    const revoked = await postForm(t, `/account/api-keys/${id}/revoke`, cookie, {
      _csrf: await csrfFor(t, cookie),
    });
    assert.equal(revoked.status, 303);
    assert.equal((await me()).status, 401, "the revoked key stops working");

    const bad = await postForm(t, "/account/api-keys", cookie, {
      _csrf: await csrfFor(t, cookie),
      name: "",
      expires_in_days: "30",
    });
    assert.equal(bad.status, 422);
    assert.match(await bad.text(), /must list at least one scope/);
  } finally {
    await t.close();
  }
});

Deno.test("a form without the CSRF token, with another session's token, or from another origin is refused and changes nothing", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const other = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const othersToken = await csrfFor(t, await signIn(t, other.email));
    const attempts = [
      postForm(t, "/account/profile", cookie, { name: "Mallory" }),
      postForm(t, "/account/profile", cookie, { _csrf: othersToken, name: "Mallory" }),
      postForm(
        t,
        "/account/profile",
        cookie,
        { _csrf: await csrfFor(t, cookie), name: "Mallory" },
        {
          origin: "https://evil.example",
        },
      ),
      postForm(
        t,
        "/account/profile",
        cookie,
        { _csrf: await csrfFor(t, cookie), name: "Mallory" },
        {
          origin: null,
        },
      ),
    ];
    for (const res of await Promise.all(attempts)) assert.equal(res.status, 403);
    assert.doesNotMatch(await (await getPage(t, "/account", cookie)).text(), /Mallory/);
  } finally {
    await t.close();
  }
});
