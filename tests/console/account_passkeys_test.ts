/**
 * The account page's passkeys through the console: adding one with the ceremony's JSON
 * endpoints (the software authenticator answering as a browser would), the list, renaming and
 * removing by form, the step-up a removal needs confirmed with the passkey itself, and the
 * checks every ceremony endpoint makes before it calls the API.
 */
import assert from "node:assert/strict";
import { ASSET_HREF } from "../../src/console/assets.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { login, registerUser } from "../support/auth_support.ts";
import { csrfFor, getPage, postForm, signIn } from "../support/console_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { assertProblem, auditRows, mfaUser, midStepMs, totp } from "../support/mfa_support.ts";
import { SoftAuthenticator } from "../support/soft_authenticator.ts";
import { STEP_UP_MAX_AGE_MS } from "../support/step_up_support.ts";
import { addPasskey, jsonAnswer, postJson } from "../support/console_passkey_support.ts";

const challenges = async (t: TestApp) =>
  (await t.deps.db.selectFrom("passkey_challenges").selectAll().execute()).length;

Deno.test("adding a passkey: the API's options, then 201 with the API's view and where to go; the account page lists it; passkey.registered is audited", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const csrf = await csrfFor(t, cookie);
    const options = await jsonAnswer(
      await postJson(t, "/account/passkeys/options", { cookie, csrf }),
      200,
    );
    assert.equal((options.rp as { id: string }).id, "localhost", "the request's host is the RP");
    assert.deepEqual(options.authenticatorSelection, {
      residentKey: "required",
      userVerification: "required",
      requireResidentKey: true,
    });
    const auth = await SoftAuthenticator.create();
    const added = await jsonAnswer(
      await postJson(t, "/account/passkeys", {
        cookie,
        csrf,
        body: { name: "Work laptop", response: await auth.register(options as never) },
      }),
      201,
    );
    assert.equal(added.name, "Work laptop");
    assert.equal(added.last_used_at, null);
    assert.equal(added.backed_up, false);
    assert.deepEqual(added.transports, ["internal"]);
    assert.equal(added.location, "/account?done=passkey_added");

    const page = await (await getPage(t, "/account?done=passkey_added", cookie)).text();
    assert.match(page, /role="status">Your passkey was added\. You can sign in with it\.</);
    assert.match(page, /<td>Work laptop<\/td>/);
    assert.match(
      page,
      /<label for="f-passkey-[0-9a-f-]{36}" class="visually-hidden">New name for Work laptop<\/label>/,
    );
    assert.match(page, /data-confirm="Remove the passkey &quot;Work laptop&quot;\?/);
    const [event] = await auditRows(t, "passkey.registered");
    assert.equal(event.target_id, user.id);
    assert.equal(event.details.passkey_id, added.id);
    assert.equal(event.details.name, "Work laptop");
  } finally {
    await t.close();
  }
});

Deno.test("a passkey added without a name is called 'Passkey' (the API's default)", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const { passkey } = await addPasskey(t, cookie, "   ");
    assert.equal(passkey.name, "Passkey");
  } finally {
    await t.close();
  }
});

Deno.test("the account's ceremony endpoints refuse, before calling the API, a foreign or missing Origin, a missing or foreign CSRF token, a form body and a request without a session", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const csrf = await csrfFor(t, cookie);
    const other = await registerUser(t);
    const otherCsrf = await csrfFor(t, await signIn(t, other.email));
    const cases: Array<[string, Parameters<typeof postJson>[2], number, string]> = [
      ["a foreign Origin", { cookie, csrf, origin: "https://evil.example" }, 403, "csrf_rejected"],
      ["no Origin", { cookie, csrf, origin: null }, 403, "csrf_rejected"],
      ["no CSRF token", { cookie }, 403, "csrf_rejected"],
      ["another session's token", { cookie, csrf: otherCsrf }, 403, "csrf_rejected"],
      [
        "a form body",
        { cookie, csrf, contentType: "application/x-www-form-urlencoded" },
        415,
        "unsupported_media_type",
      ],
      ["no session", { csrf }, 401, "unauthorized"],
    ];
    const paths = [
      "/account/passkeys/options",
      "/account/passkeys",
      "/account/reauthenticate/passkey/options",
      "/account/reauthenticate/passkey",
    ];
    for (const path of paths) {
      for (const [name, options, status, code] of cases) {
        const res = await postJson(t, path, options);
        await assertProblem(res, status, code).catch((error) => {
          throw new Error(`${path} with ${name}: ${error.message}`);
        });
      }
    }
    assert.equal(await challenges(t), 0, "no ceremony was started");
    assert.equal((await auditRows(t, "passkey.registered")).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("renaming is the API's PATCH: the new name is listed; an empty one is refused next to the row's field; a row not on the page (another id, a malformed one) has its error shown in the section, with the API's status", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const { passkey } = await addPasskey(t, cookie, "Phone");
    const renamed = await postForm(t, `/account/passkeys/${passkey.id}/rename`, cookie, {
      _csrf: await csrfFor(t, cookie),
      name: "Old phone",
    });
    assert.equal(renamed.status, 303, await renamed.clone().text());
    assert.equal(renamed.headers.get("location"), "/account?done=passkey_renamed");
    const page = await (await getPage(t, "/account", cookie)).text();
    assert.match(page, /<td>Old phone<\/td>/);

    const empty = await postForm(t, `/account/passkeys/${passkey.id}/rename`, cookie, {
      _csrf: await csrfFor(t, cookie),
      name: "  ",
    });
    assert.equal(empty.status, 422);
    const html = await empty.text();
    const id = `f-passkey-${passkey.id}`;
    assert.match(html, new RegExp(`id="${id}"[^>]*aria-invalid="true"`));
    assert.match(html, new RegExp(`<p class="error" id="${id}-error" role="alert">[^<]+</p>`));

    const sectionError = (html: string) =>
      /<section aria-labelledby="passkeys">[\s\S]*?<\/table><\/div><p class="error" role="alert">([^<]+)<\/p>/
        .exec(html)?.[1];
    const unknown = await postForm(t, `/account/passkeys/${crypto.randomUUID()}/rename`, cookie, {
      _csrf: await csrfFor(t, cookie),
      name: "Someone's",
    });
    assert.equal(unknown.status, 404, "another id is the API's passkey_not_found");
    assert.equal(sectionError(await unknown.text()), "No passkey with this id belongs to you");
    const cases: Array<[string, Record<string, string>, number, RegExp]> = [
      [`/account/passkeys/${crypto.randomUUID()}/remove`, {}, 404, /^No passkey with this id/],
      ["/account/passkeys/not-a-passkey/rename", { name: "X" }, 422, /id must be a passkey id/],
      ["/account/passkeys/not-a-passkey/remove", {}, 422, /id must be a passkey id/],
    ];
    for (const [path, fields, status, message] of cases) {
      const res = await postForm(t, path, cookie, { _csrf: await csrfFor(t, cookie), ...fields });
      assert.equal(res.status, status, path);
      assert.match(sectionError(await res.text()) ?? "", message, path);
    }
  } finally {
    await t.close();
  }
});

Deno.test("removing needs a recent sign-in: a stale session goes to the reauthentication page, which offers only the passkey (no TOTP); confirming with it lets the removal through, audited, and the user's other sessions end", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const other = (await login(t, user.email)).access_token;
    const cookie = await signIn(t, user.email);
    const { auth, passkey } = await addPasskey(t, cookie, "Key");
    clock.advance(STEP_UP_MAX_AGE_MS + 1_000);

    const remove = () =>
      csrfFor(t, cookie).then((csrf) =>
        postForm(t, `/account/passkeys/${passkey.id}/remove`, cookie, { _csrf: csrf })
      );
    const stale = await remove();
    assert.equal(stale.status, 303);
    assert.equal(stale.headers.get("location"), "/account/reauthenticate?next=%2Faccount");
    // Adding another is refused the same way; the script follows data-reauthenticate.
    await assertProblem(
      await postJson(t, "/account/passkeys/options", { cookie, csrf: await csrfFor(t, cookie) }),
      403,
      "reauthentication_required",
    );

    const page = await (await getPage(t, "/account/reauthenticate?next=%2Faccount", cookie)).text();
    assert.match(
      page,
      /data-passkey="authenticate" data-options="\/account\/reauthenticate\/passkey\/options"/,
    );
    assert.match(page, />Confirm with a passkey</);
    assert.doesNotMatch(page, /name="password"/, "the API would refuse the password alone");
    assert.ok(page.includes(`<script src="${ASSET_HREF.webauthn}" nonce="`));

    const csrf = await csrfFor(t, cookie);
    const options = await jsonAnswer(
      await postJson(t, "/account/reauthenticate/passkey/options", { cookie, csrf }),
      200,
    );
    assert.deepEqual((options.allowCredentials as { id: string }[]).map((c) => c.id), [auth.id]);
    const confirmed = await jsonAnswer(
      await postJson(t, "/account/reauthenticate/passkey", {
        cookie,
        csrf,
        body: { next: "/account", response: await auth.assert(options as never) },
      }),
      200,
    );
    assert.deepEqual(confirmed, { location: "/account?done=reauthenticated" });
    const [step] = await auditRows(t, "passkey.login");
    assert.equal(step.details.purpose, "reauthenticate");

    const removed = await remove();
    assert.equal(removed.status, 303);
    assert.equal(removed.headers.get("location"), "/account?done=passkey_removed");
    const [event] = await auditRows(t, "passkey.removed");
    assert.equal(event.target_id, user.id);
    assert.equal(event.details.passkey_id, passkey.id);
    assert.equal(event.details.name, "Key");
    assert.match(
      await (await getPage(t, "/account?done=passkey_removed", cookie)).text(),
      /The passkey was removed\. Your other sessions were signed out\.[\s\S]*You have no passkeys yet\./,
    );
    const me = await request(t.app, "GET", "/api/v1/me", {
      headers: { authorization: `Bearer ${other}` },
    });
    assert.equal(me.status, 401, "the user's other session ended");
  } finally {
    await t.close();
  }
});

Deno.test("a step-up assertion for another challenge is refused with the API's problem, and the session stays stale", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const { auth } = await addPasskey(t, cookie);
    clock.advance(STEP_UP_MAX_AGE_MS + 1_000);
    const csrf = await csrfFor(t, cookie);
    const options = await jsonAnswer(
      await postJson(t, "/account/reauthenticate/passkey/options", { cookie, csrf }),
      200,
    );
    const forged = await auth.assert(options as never, { challenge: "AAAAAAAAAAAAAAAAAAAAAA" });
    await assertProblem(
      await postJson(t, "/account/reauthenticate/passkey", {
        cookie,
        csrf,
        body: { response: forged },
      }),
      401,
      "invalid_passkey",
    );
    await assertProblem(
      await postJson(t, "/account/passkeys/options", { cookie, csrf }),
      403,
      "reauthentication_required",
    );
  } finally {
    await t.close();
  }
});

Deno.test("the new name's input and each rename input take at most 100 characters", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const { passkey } = await addPasskey(t, cookie, "Phone");
    const page = await (await getPage(t, "/account", cookie)).text();
    assert.match(page, /<input id="f-passkey-name" name="name" type="text"[^>]* maxlength="100"/);
    assert.match(page, new RegExp(`<input id="f-passkey-${passkey.id}"[^>]* maxlength="100"`));
  } finally {
    await t.close();
  }
});

Deno.test("a name the API would refuse is refused by the console's options endpoint (422, errors[0] on name) before any ceremony starts, and by the register endpoint; empty (the API's default) and 100 characters after trimming pass", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const csrf = await csrfFor(t, cookie);
    const refused: Array<[string, string, RegExp]> = [
      ["101 characters", "x".repeat(101), /at most 100 characters/],
      ["a line break inside", "Work\nlaptop", /control or formatting characters/],
      ["a bidi override", "Work \u202elaptop", /control or formatting characters/],
      ["a zero-width space", "Work\u200blaptop", /control or formatting characters/],
      ["a NUL", "Work\u0000", /control or formatting characters/],
    ];
    for (const [what, name, message] of refused) {
      for (const path of ["/account/passkeys/options", "/account/passkeys"]) {
        const problem = await assertProblem(
          await postJson(t, path, { cookie, csrf, body: { name, response: {} } }),
          422,
          "validation_failed",
        ).catch((error) => {
          throw new Error(`${path} with ${what}: ${error.message}`);
        });
        assert.equal(problem.errors[0].field, "name", what);
        assert.match(problem.errors[0].message, message, what);
      }
    }
    assert.equal(await challenges(t), 0, "no ceremony was started");
    for (const name of ["", "  ", ` ${"y".repeat(100)} `]) {
      await jsonAnswer(
        await postJson(t, "/account/passkeys/options", { cookie, csrf, body: { name } }),
        200,
      );
    }
    const { passkey } = await addPasskey(t, cookie, ` ${"y".repeat(100)} `);
    assert.equal(passkey.name, "y".repeat(100));
  } finally {
    await t.close();
  }
});

Deno.test("with 20 passkeys the add form is gone and the page says why; the options endpoint relays the API's 409 passkey_limit_reached", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    for (let i = 1; i < 20; i++) await addPasskey(t, cookie, `Key ${i}`);
    const before = await (await getPage(t, "/account", cookie)).text();
    assert.match(before, /data-passkey="register"/, "19: one more can be added");
    await addPasskey(t, cookie, "Key 20");

    const page = await (await getPage(t, "/account", cookie)).text();
    assert.doesNotMatch(page, /data-passkey="register"/);
    assert.doesNotMatch(page, /Name of the new passkey/);
    assert.doesNotMatch(page, /Adding a passkey needs a browser/);
    assert.match(
      page,
      /You have 20 passkeys, the most an account can hold\. To add another, remove one you no longer use\./,
    );
    await assertProblem(
      await postJson(t, "/account/passkeys/options", { cookie, csrf: await csrfFor(t, cookie) }),
      409,
      "passkey_limit_reached",
    );
  } finally {
    await t.close();
  }
});

Deno.test("removing the last passkey of an account without TOTP: the confirmation says the password alone will then sign you in; not with two passkeys, nor with TOTP on", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const alone = "your password alone will then sign you in";
    const confirmOf = async (cookie: string, id: unknown) =>
      new RegExp(`action="/account/passkeys/${id}/remove" data-confirm="([^"]+)"`)
        .exec(await (await getPage(t, "/account", cookie)).text())?.[1] ?? "";

    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const first = (await addPasskey(t, cookie, "Phone")).passkey;
    assert.ok((await confirmOf(cookie, first.id)).includes(alone));
    await addPasskey(t, cookie, "Key");
    const two = await confirmOf(cookie, first.id);
    assert.ok(two && !two.includes(alone), two);

    const withTotp = await mfaUser(t, clock);
    const totpCookie = await signIn(t, withTotp.email, undefined, {
      code: totp(withTotp.secret, clock.now()),
    });
    const { passkey } = await addPasskey(t, totpCookie, "Phone");
    const confirm = await confirmOf(totpCookie, passkey.id);
    assert.ok(confirm && !confirm.includes(alone), confirm ?? "no confirmation");
  } finally {
    await t.close();
  }
});

Deno.test("the step-up page of an account whose only second factor is a passkey tells a browser without passkeys what to do (another browser, or an administrator); with TOTP too, the password form is there instead", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const note = (html: string) =>
      /<p class="hint" data-passkey-unsupported="true">([^<]+)<\/p>/.exec(html)?.[1] ?? "";
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    await addPasskey(t, cookie);
    const only = await (await getPage(t, "/account/reauthenticate", cookie)).text();
    assert.doesNotMatch(only, /name="password"/);
    assert.match(note(only), /a browser that supports passkeys/);
    assert.match(note(only), /ask an administrator to reset your second factor/);

    const withTotp = await mfaUser(t, clock);
    const totpCookie = await signIn(t, withTotp.email, undefined, {
      code: totp(withTotp.secret, clock.now()),
    });
    await addPasskey(t, totpCookie);
    const both = await (await getPage(t, "/account/reauthenticate", totpCookie)).text();
    assert.match(both, /name="password"/);
    assert.doesNotMatch(note(both), /administrator/);
  } finally {
    await t.close();
  }
});
