/**
 * Signing in to the console with a passkey (the sign-in page's ceremony endpoints), and the
 * passkey as the second step of a password sign-in: a console session cookie like the
 * password form's, only a `location` in the answer (the API's tokens stay on the server),
 * the API's refusals worded for the page, and the Origin and CSRF checks before the API.
 */
import assert from "node:assert/strict";
import { ASSET_HREF } from "../../src/console/assets.ts";
import { registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import {
  CONSOLE_COOKIE,
  csrfFor,
  csrfOf,
  getPage,
  postForm,
  setCookieOf,
  signIn,
} from "../support/console_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { DEVICE_COOKIE } from "../../src/services/device_tokens.ts";
import { assertProblem, auditRows } from "../support/mfa_support.ts";
import {
  addPasskey,
  anonymous,
  jsonAnswer,
  passkeySignIn,
  postJson,
  suspendByCounter,
} from "../support/console_passkey_support.ts";

/** A user with one passkey added through the console; answers the user and authenticator. */
async function userWithPasskey(t: TestApp) {
  const user = await registerUser(t);
  const cookie = await signIn(t, user.email);
  const { auth, passkey } = await addPasskey(t, cookie);
  return { user, auth, passkey, cookie };
}

Deno.test("the sign-in page offers a passkey: a hidden ceremony form the script reveals, and the WebAuthn script with the page's nonce", async () => {
  const t = await buildTestApp();
  try {
    const { html } = await anonymous(t);
    const form = /<form [^>]*action="\/account\/sign-in\/passkey"[^>]*>/.exec(html)?.[0] ?? "";
    assert.match(form, /data-passkey="authenticate"/);
    assert.match(form, /data-options="\/account\/sign-in\/passkey\/options"/);
    assert.match(form, / hidden/, "hidden until the script finds WebAuthn");
    assert.match(html, /<p class="error" role="alert" data-passkey-error="true" hidden=""><\/p>/);
    assert.match(html, />Sign in with a passkey<\/button>/);
    assert.match(html, /<p class="hint" data-passkey-unsupported="true">/);
    const nonce = /<script src="\/console\/app\.js\?v=[0-9a-f]+" nonce="([^"]+)"/.exec(html)?.[1];
    assert.ok(nonce);
    assert.ok(html.includes(`<script src="${ASSET_HREF.webauthn}" nonce="${nonce}"`));
  } finally {
    await t.close();
  }
});

Deno.test("sign-in with a passkey: discoverable options, then a console session cookie and only where to go; passkey.login is audited", async () => {
  const t = await buildTestApp();
  try {
    const { user, auth } = await userWithPasskey(t);
    const browser = await anonymous(t);
    const options = await jsonAnswer(
      await postJson(t, "/account/sign-in/passkey/options", browser),
      200,
    );
    assert.equal(options.rpId, "localhost");
    assert.equal(options.userVerification, "required");
    assert.ok(!options.allowCredentials || (options.allowCredentials as []).length === 0);

    const res = await postJson(t, "/account/sign-in/passkey", {
      ...browser,
      body: { next: "/account", response: await auth.assert(options as never) },
    });
    const session = setCookieOf(res, CONSOLE_COOKIE);
    assert.deepEqual(await jsonAnswer(res, 200), { location: "/account" }, "no tokens");
    assert.ok(session, "the console session's cookie");
    const page = await getPage(t, "/account", session);
    assert.equal(page.status, 200);
    assert.ok((await page.text()).includes(user.email));
    const [event] = await auditRows(t, "passkey.login");
    assert.equal(event.details.purpose, "login");
    assert.equal(event.target_id, user.id);
  } finally {
    await t.close();
  }
});

Deno.test("sign-in with a passkey goes on to a console path only (next)", async () => {
  const t = await buildTestApp();
  try {
    const { auth } = await userWithPasskey(t);
    for (
      const [next, location] of [
        ["/account/reauthenticate", "/account/reauthenticate"],
        ["https://evil.example/", "/account"],
        ["//evil.example", "/account"],
      ]
    ) {
      const browser = await anonymous(t);
      const options = await jsonAnswer(
        await postJson(t, "/account/sign-in/passkey/options", browser),
        200,
      );
      const answer = await jsonAnswer(
        await postJson(t, "/account/sign-in/passkey", {
          ...browser,
          body: { next, response: await auth.assert(options as never) },
        }),
        200,
      );
      assert.equal(answer.location, location, next);
    }
  } finally {
    await t.close();
  }
});

Deno.test("a password sign-in of an account with a passkey asks for it: the second step offers only the passkey, and answering it opens the console session", async () => {
  const t = await buildTestApp();
  try {
    const { user, auth } = await userWithPasskey(t);
    const browser = await anonymous(t);
    const step = await postForm(t, "/account/sign-in", browser.cookie, {
      _csrf: browser.csrf,
      email: user.email,
      password: STRONG_PASSWORD,
    });
    assert.equal(step.status, 200);
    const html = await step.text();
    assert.match(html, /<h1>Two-factor authentication<\/h1>/);
    assert.match(html, /data-options="\/account\/sign-in\/mfa\/passkey\/options"/);
    assert.match(html, />Use a passkey<\/button>/);
    assert.doesNotMatch(html, /name="code"/, "no TOTP: no code field");
    assert.ok(html.includes(`<script src="${ASSET_HREF.webauthn}"`));
    const mfaToken = /name="mfa_token" value="([^"]+)"/.exec(html)![1];

    const options = await jsonAnswer(
      await postJson(t, "/account/sign-in/mfa/passkey/options", {
        ...browser,
        csrf: csrfOf(html),
        body: { mfa_token: mfaToken },
      }),
      200,
    );
    assert.deepEqual((options.allowCredentials as { id: string }[]).map((c) => c.id), [auth.id]);
    const res = await postJson(t, "/account/sign-in/mfa/passkey", {
      ...browser,
      csrf: csrfOf(html),
      body: {
        mfa_token: mfaToken,
        next: "/account",
        response: await auth.assert(options as never),
      },
    });
    const session = setCookieOf(res, CONSOLE_COOKIE);
    assert.deepEqual(await jsonAnswer(res, 200), { location: "/account" });
    assert.ok(session);
    assert.equal((await getPage(t, "/account", session)).status, 200);
    const [event] = await auditRows(t, "passkey.login");
    assert.equal(event.details.purpose, "mfa");

    // The mfa_token is spent: answering again is the API's refusal, worded for the page.
    const again = await assertProblem(
      await postJson(t, "/account/sign-in/mfa/passkey/options", {
        ...browser,
        csrf: csrfOf(html),
        body: { mfa_token: mfaToken },
      }),
      401,
      "invalid_mfa_token",
    );
    assert.equal(again.message, "The sign-in took too long. Start again.");
    assert.equal(again.location, "/account/sign-in?next=%2Faccount&error=expired");
  } finally {
    await t.close();
  }
});

Deno.test("a removed passkey no longer signs in: 401 invalid_passkey worded for the page, no session cookie, auth.login.failed audited", async () => {
  const t = await buildTestApp();
  try {
    const { auth, passkey, cookie } = await userWithPasskey(t);
    const removed = await postForm(t, `/account/passkeys/${passkey.id}/remove`, cookie, {
      _csrf: await csrfFor(t, cookie),
    });
    assert.equal(removed.status, 303);
    const browser = await anonymous(t);
    const options = await jsonAnswer(
      await postJson(t, "/account/sign-in/passkey/options", browser),
      200,
    );
    const res = await postJson(t, "/account/sign-in/passkey", {
      ...browser,
      body: { response: await auth.assert(options as never) },
    });
    assert.equal(setCookieOf(res, CONSOLE_COOKIE), undefined);
    const problem = await assertProblem(res, 401, "invalid_passkey");
    assert.match(problem.message, /^That passkey was not accepted\./);
    const failed = (await auditRows(t, "auth.login.failed")).at(-1)!;
    assert.deepEqual(failed.details, { reason: "unknown_passkey", method: "passkey" });
  } finally {
    await t.close();
  }
});

Deno.test("a passkey sign-in carries this browser's device credential to the login guard: while an attack blocks the account, the owner's browser still signs in, another is refused", async () => {
  const t = await buildTestApp({ LOGIN_EMAIL_MAX_ATTEMPTS: "3" });
  try {
    const { user, auth } = await userWithPasskey(t);
    const signInFrom = async (ip: string, device?: string) => {
      const browser = await anonymous(t);
      const cookie = device ? `${browser.cookie}; ${device}` : browser.cookie;
      const options = await jsonAnswer(
        await postJson(t, "/account/sign-in/passkey/options", { ...browser, cookie, ip }),
        200,
      );
      return await postJson(t, "/account/sign-in/passkey", {
        ...browser,
        cookie,
        ip,
        body: { response: await auth.assert(options as never) },
      });
    };
    const first = await signInFrom("10.8.1.7");
    assert.equal(first.status, 200, await first.clone().text());
    const device = setCookieOf(first, DEVICE_COOKIE);
    assert.ok(device, "the API's device credential is passed on to the browser");

    for (let i = 0; i < 4; i++) {
      await request(t.app, "POST", "/api/v1/auth/login", {
        body: { email: user.email, password: "Wrong-Password-123!" },
        ip: `10.9.${i}.7`,
      });
    }
    // Both from addresses the account never signed in from.
    await assertProblem(await signInFrom("10.8.2.7"), 429, "too_many_attempts");
    const owner = await signInFrom("10.8.3.7", device);
    assert.equal(owner.status, 200, await owner.clone().text());
    assert.ok(setCookieOf(owner, CONSOLE_COOKIE));
  } finally {
    await t.close();
  }
});

Deno.test("a replayed sign-in assertion is refused: the challenge was spent by the first", async () => {
  const t = await buildTestApp();
  try {
    const { auth } = await userWithPasskey(t);
    const browser = await anonymous(t);
    const options = await jsonAnswer(
      await postJson(t, "/account/sign-in/passkey/options", browser),
      200,
    );
    const response = await auth.assert(options as never);
    const first = await postJson(t, "/account/sign-in/passkey", { ...browser, body: { response } });
    assert.equal(first.status, 200);
    const replay = await postJson(t, "/account/sign-in/passkey", {
      ...browser,
      body: { response },
    });
    assert.equal(setCookieOf(replay, CONSOLE_COOKIE), undefined);
    await assertProblem(replay, 401, "invalid_passkey");
  } finally {
    await t.close();
  }
});

Deno.test("the sign-in ceremony endpoints refuse a foreign or missing Origin and a missing or foreign CSRF token before calling the API", async () => {
  const t = await buildTestApp();
  try {
    const browser = await anonymous(t);
    const other = await anonymous(t);
    const cases: Array<[string, Parameters<typeof postJson>[2]]> = [
      ["a foreign Origin", { ...browser, origin: "https://evil.example" }],
      ["no Origin", { ...browser, origin: null }],
      ["no CSRF token", { cookie: browser.cookie }],
      ["another browser's token", { cookie: browser.cookie, csrf: other.csrf }],
      ["no anonymous cookie", { csrf: browser.csrf }],
    ];
    for (
      const path of [
        "/account/sign-in/passkey/options",
        "/account/sign-in/passkey",
        "/account/sign-in/mfa/passkey/options",
        "/account/sign-in/mfa/passkey",
      ]
    ) {
      for (const [name, options] of cases) {
        await assertProblem(await postJson(t, path, options), 403, "csrf_rejected").catch(
          (error) => {
            throw new Error(`${path} with ${name}: ${error.message}`);
          },
        );
      }
    }
    const started = await t.deps.db.selectFrom("passkey_challenges").selectAll().execute();
    assert.equal(started.length, 0, "no ceremony was started");
  } finally {
    await t.close();
  }
});

/** A password sign-in of `email` up to its second step: the page, its token and `next`. */
async function secondStep(t: TestApp, email: string, next: string) {
  const browser = await anonymous(t);
  const step = await postForm(t, "/account/sign-in", browser.cookie, {
    _csrf: browser.csrf,
    email,
    password: STRONG_PASSWORD,
    next,
  });
  assert.equal(step.status, 200);
  const html = await step.text();
  const mfaToken = /name="mfa_token" value="([^"]+)"/.exec(html)![1];
  return { browser, html, csrf: csrfOf(html), mfaToken };
}

Deno.test("a dead mfa_token at the passkey second step answers the API's 401 with the message and where to start again (the sign-in page, keeping a console next), which shows the message", async () => {
  const t = await buildTestApp();
  try {
    const { user, auth } = await userWithPasskey(t);
    const cases: Array<[string, string]> = [
      ["/admin/users", "/account/sign-in?next=%2Fadmin%2Fusers&error=expired"],
      ["https://evil.example/", "/account/sign-in?next=%2Faccount&error=expired"],
    ];
    for (const [next, location] of cases) {
      const { browser, csrf, mfaToken } = await secondStep(t, user.email, next);
      const options = await jsonAnswer(
        await postJson(t, "/account/sign-in/mfa/passkey/options", {
          ...browser,
          csrf,
          body: { mfa_token: mfaToken, next },
        }),
        200,
      );
      const response = await auth.assert(options as never);
      for (
        const [path, body] of [
          ["/account/sign-in/mfa/passkey/options", { mfa_token: "dead", next }],
          ["/account/sign-in/mfa/passkey", { mfa_token: "dead", next, response }],
        ] as const
      ) {
        const res = await postJson(t, path, { ...browser, csrf, body });
        assert.equal(setCookieOf(res, CONSOLE_COOKIE), undefined);
        const problem = await assertProblem(res, 401, "invalid_mfa_token");
        assert.equal(problem.message, "The sign-in took too long. Start again.", path);
        assert.equal(problem.location, location, `${path} with next ${next}`);
      }
    }
    const page = await (await getPage(t, "/account/sign-in?next=%2Fadmin%2Fusers&error=expired"))
      .text();
    assert.match(
      page,
      /<p class="flash error" role="alert">The sign-in took too long\. Start again\.<\/p>/,
    );
    assert.match(page, /name="next" value="\/admin\/users"/);
    const other = await (await getPage(t, "/account/sign-in?error=%3Cb%3Ehi")).text();
    assert.doesNotMatch(other, /flash error/, "only a known key puts a message on the page");
  } finally {
    await t.close();
  }
});

Deno.test("the second step of an account whose only second factor is a passkey tells a browser without passkeys what to do (another browser, or an administrator)", async () => {
  const t = await buildTestApp();
  try {
    const { user } = await userWithPasskey(t);
    const { html } = await secondStep(t, user.email, "/account");
    assert.doesNotMatch(html, /name="code"/);
    const note = /<p class="hint" data-passkey-unsupported="true">([^<]+)<\/p>/.exec(html)?.[1];
    assert.match(note ?? "", /needs a browser that supports passkeys, with JavaScript on/);
    assert.match(note ?? "", /ask an administrator to reset your second factor/);
  } finally {
    await t.close();
  }
});

Deno.test("a passkey suspended as a possible copy (its counter went backwards) is refused with the same invalid_passkey, worded to point to an administrator; it stays refused", async () => {
  const t = await buildTestApp();
  try {
    const { auth } = await userWithPasskey(t);
    const res = await suspendByCounter(t, auth);
    assert.equal(setCookieOf(res, CONSOLE_COOKIE), undefined);
    const problem = await assertProblem(res, 401, "invalid_passkey");
    assert.equal(
      problem.message,
      "That passkey was not accepted. If it was removed from your account, sign in with your " +
        "password; if it keeps being refused, ask an administrator to remove it.",
    );
    assert.equal((await auditRows(t, "passkey.counter_regression")).length, 1);
    const again = await passkeySignIn(t, auth);
    const body = await assertProblem(again, 401, "invalid_passkey");
    assert.equal(body.message, problem.message, "suspended for good");
  } finally {
    await t.close();
  }
});
