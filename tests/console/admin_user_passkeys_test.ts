/**
 * `/admin/users/:id` and a user's passkeys: how many they have and which (a suspended one
 * marked and counted), each removable by the API's
 * `DELETE /api/v1/admin/users/:id/passkeys/:passkeyId` (audited, step-up and role hierarchy
 * being the API's, its refusal shown on the page) where that can work: not an administrator's
 * for an `admin`, not one's own (that is /account's); and the MFA reset that removes them all.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { registerUser } from "../support/auth_support.ts";
import { consoleAdmin, csrfOf, getPage, postForm, signIn } from "../support/console_support.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";
import { assertProblem, auditRows, mfaUser, midStepMs, totp } from "../support/mfa_support.ts";
import { STEP_UP_MAX_AGE_MS } from "../support/step_up_support.ts";
import { addPasskey, suspendByCounter } from "../support/console_passkey_support.ts";
import type { SoftAuthenticator } from "../support/soft_authenticator.ts";

type Admin = Awaited<ReturnType<typeof consoleAdmin>>;

/** The user's page as the admin sees it. */
async function detail(t: TestApp, admin: Admin, userId: string, query = "") {
  const page = await getPage(t, `/admin/users/${userId}${query}`, admin.cookie);
  assert.equal(page.status, 200);
  return await page.text();
}

/** Submits the remove form of passkey `passkeyId` with the page's CSRF token. */
async function remove(t: TestApp, admin: Admin, userId: string, passkeyId: string) {
  return await postForm(t, `/admin/users/${userId}/passkeys/${passkeyId}/remove`, admin.cookie, {
    _csrf: csrfOf(await detail(t, admin, userId)),
  });
}

const count = (html: string) => /<dt>Passkeys<\/dt><dd>([^<]+)<\/dd>/.exec(html)?.[1];

/** The remove forms' actions on a page. */
const removeActions = (html: string) =>
  [...html.matchAll(/action="(\/admin\/users\/[^"]+\/passkeys\/[^"]+\/remove)"/g)].map((m) => m[1]);

/** The confirmation of the remove form of `passkeyId`. */
const removeConfirm = (html: string, passkeyId: string) =>
  new RegExp(`action="[^"]+/passkeys/${passkeyId}/remove" data-confirm="([^"]+)"`).exec(html)
    ?.[1];

/** A user with passkeys named `names`, added through their own console session. */
async function userWithPasskeys(
  t: TestApp,
  names: string[],
  role?: "admin" | "super_admin",
) {
  const user = await registerUser(t);
  if (role) await t.deps.db.updateTable("users").set({ role }).where("id", "=", user.id).execute();
  const cookie = await signIn(t, user.email);
  const ids: string[] = [];
  const auths: SoftAuthenticator[] = [];
  for (const name of names) {
    const { auth, passkey } = await addPasskey(t, cookie, name);
    ids.push(String(passkey.id));
    auths.push(auth);
  }
  return { ...user, passkeyIds: ids, auths };
}

Deno.test("the user page shows how many passkeys a user has and lists them; Remove is the API's DELETE, audited, and the count drops", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const none = await registerUser(t);
    const html0 = await detail(t, admin, none.id);
    assert.equal(count(html0), "0");
    assert.match(html0, /<h2 id="passkeys">Passkeys<\/h2><p>No passkeys\.<\/p>/);

    const user = await userWithPasskeys(t, ["Phone", "Security key"]);
    const html = await detail(t, admin, user.id);
    assert.equal(count(html), "2");
    assert.match(html, /<td>Phone<\/td>/);
    assert.match(html, /<td>Security key<\/td>/);
    assert.ok(
      html.includes(`action="/admin/users/${user.id}/passkeys/${user.passkeyIds[0]}/remove"`),
    );
    assert.match(
      html,
      /data-confirm="Remove the passkey &quot;Phone&quot; of [^"]+\? It will no longer sign them in\. All their sessions end \(they sign in again\)\."/,
    );

    const res = await remove(t, admin, user.id, user.passkeyIds[0]);
    assert.equal(res.status, 303, await res.clone().text());
    assert.equal(res.headers.get("location"), `/admin/users/${user.id}?done=passkey`);
    const after = await detail(t, admin, user.id, "?done=passkey");
    assert.match(
      after,
      /role="status">The passkey is removed and the user&#39;s sessions are signed out\.</,
    );
    assert.equal(count(after), "1");
    assert.doesNotMatch(after, /<td>Phone<\/td>/);
    const [event] = await auditRows(t, "passkey.removed");
    assert.equal(event.actor_id, admin.id);
    assert.equal(event.target_id, user.id);
    assert.equal(event.details.passkey_id, user.passkeyIds[0]);
    assert.equal(event.details.name, "Phone");
  } finally {
    await t.close();
  }
});

Deno.test("removing a passkey after STEP_UP_MAX_AGE shows the link to reauthenticate and removes nothing", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const admin = await consoleAdmin(t, "admin");
    const user = await userWithPasskeys(t, ["Phone"]);
    clock.advance(STEP_UP_MAX_AGE_MS + 1_000);
    const res = await remove(t, admin, user.id, user.passkeyIds[0]);
    assert.equal(res.status, 403);
    const html = await res.text();
    assert.match(html, /This action needs a recent sign-in/);
    assert.ok(
      html.includes(
        `/account/reauthenticate?next=${encodeURIComponent(`/admin/users/${user.id}`)}`,
      ),
    );
    assert.equal(count(html), "1");
    assert.equal((await auditRows(t, "passkey.removed")).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("an admin cannot remove a super admin's passkey: the API's 403 is shown and the passkey stays; a malformed id never reaches the API", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const boss = await userWithPasskeys(t, ["Boss key"], "super_admin");
    const res = await remove(t, admin, boss.id, boss.passkeyIds[0]);
    assert.equal(res.status, 403);
    assert.equal(count(await res.text()), "1");
    assert.equal((await auditRows(t, "passkey.removed")).length, 0);

    const malformed = await remove(t, admin, boss.id, "not-a-passkey-id");
    assert.equal(malformed.status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("a passkey suspended by a counter regression is marked 'suspended (possible copy)' and counted (N (k suspended)); the others are not marked", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const user = await userWithPasskeys(t, ["Phone", "Security key"]);
    await assertProblem(await suspendByCounter(t, user.auths[0]), 401, "invalid_passkey");

    const html = await detail(t, admin, user.id);
    assert.equal(count(html), "2 (1 suspended)");
    assert.match(html, /<td>Phone <span class="badge">suspended \(possible copy\)<\/span><\/td>/);
    assert.match(html, /<td>Security key<\/td>/, "the other passkey is not marked");
    assert.equal(removeActions(html).length, 2, "the suspended one can be removed too");
    assert.equal(count(await detail(t, admin, (await registerUser(t)).id)), "0");
  } finally {
    await t.close();
  }
});

Deno.test("Remove is offered only where it can work: an admin sees none on an administrator's passkeys (only a super admin can), none on their own (a link to /account instead); a super admin sees them on an admin's", async () => {
  const t = await buildTestApp();
  try {
    const admin = await consoleAdmin(t, "admin");
    const superAdmin = await consoleAdmin(t, "super_admin");
    const otherAdmin = await userWithPasskeys(t, ["Admin key"], "admin");
    const boss = await userWithPasskeys(t, ["Boss key"], "super_admin");
    await addPasskey(t, admin.cookie, "My key");
    const only = "Only a super admin can remove an administrator&#39;s passkeys.";

    for (const target of [otherAdmin, boss]) {
      const html = await detail(t, admin, target.id);
      assert.deepEqual(removeActions(html), [], target.role);
      assert.ok(html.includes(only), target.role);
      assert.equal(count(html), "1");
    }
    const own = await detail(t, admin, admin.id);
    assert.deepEqual(removeActions(own), [], "not one's own from here");
    assert.match(own, /These are your own passkeys: rename or remove them on <a href="\/account">/);
    assert.ok(!own.includes(only));

    const bySuper = await detail(t, superAdmin, otherAdmin.id);
    assert.deepEqual(removeActions(bySuper), [
      `/admin/users/${otherAdmin.id}/passkeys/${otherAdmin.passkeyIds[0]}/remove`,
    ]);
    assert.ok(!bySuper.includes(only));
    const res = await remove(t, superAdmin, otherAdmin.id, otherAdmin.passkeyIds[0]);
    assert.equal(res.status, 303, await res.clone().text());
    assert.equal((await auditRows(t, "passkey.removed"))[0].actor_id, superAdmin.id);
  } finally {
    await t.close();
  }
});

Deno.test("removing the last passkey of an account without TOTP: the confirmation says the password alone will then sign them in; not with two passkeys, nor with TOTP on", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const admin = await consoleAdmin(t, "admin");
    const alone = "the password alone will then sign them in";
    const one = await userWithPasskeys(t, ["Phone"]);
    assert.ok(removeConfirm(await detail(t, admin, one.id), one.passkeyIds[0])?.includes(alone));
    const two = await userWithPasskeys(t, ["Phone", "Key"]);
    assert.ok(!removeConfirm(await detail(t, admin, two.id), two.passkeyIds[0])?.includes(alone));

    const withTotp = await mfaUser(t, clock);
    const cookie = await signIn(t, withTotp.email, undefined, {
      code: totp(withTotp.secret, clock.now()),
    });
    const { passkey } = await addPasskey(t, cookie, "Phone");
    const confirm = removeConfirm(await detail(t, admin, withTotp.id), String(passkey.id));
    assert.ok(confirm && !confirm.includes(alone), confirm ?? "no confirmation");
  } finally {
    await t.close();
  }
});

Deno.test("Reset MFA is offered for an account with a passkey and no TOTP, says it removes the authenticator app, recovery codes and all passkeys; a super admin's reset leaves no passkey", async () => {
  const t = await buildTestApp();
  try {
    const superAdmin = await consoleAdmin(t, "super_admin");
    const none = await registerUser(t);
    assert.ok(!(await detail(t, superAdmin, none.id)).includes("mfa-reset"), "nothing to reset");

    const user = await userWithPasskeys(t, ["Phone", "Key"]);
    const html = await detail(t, superAdmin, user.id);
    const form = new RegExp(
      `<form method="post" action="/admin/users/${user.id}/mfa-reset" data-confirm="([^"]+)"`,
    ).exec(html);
    assert.ok(form, "the reset is offered");
    assert.match(
      form[1],
      /removes their authenticator app, their recovery codes and all their passkeys/,
    );
    const res = await postForm(t, `/admin/users/${user.id}/mfa-reset`, superAdmin.cookie, {
      _csrf: csrfOf(html),
    });
    assert.equal(res.status, 303, await res.clone().text());
    const after = await detail(t, superAdmin, user.id, "?done=mfa");
    assert.equal(count(after), "0");
    assert.ok(!after.includes("mfa-reset"), "nothing left to reset");
    assert.equal((await auditRows(t, "mfa.reset")).length, 1);
  } finally {
    await t.close();
  }
});
