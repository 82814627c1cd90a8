/**
 * `/admin/users/:id` and a user's passkeys: how many they have and which, each removable by
 * the API's `DELETE /api/v1/admin/users/:id/passkeys/:passkeyId` (audited, step-up and role
 * hierarchy being the API's, its refusal shown on the page).
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { registerUser } from "../support/auth_support.ts";
import { consoleAdmin, csrfOf, getPage, postForm, signIn } from "../support/console_support.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";
import { auditRows } from "../support/mfa_support.ts";
import { STEP_UP_MAX_AGE_MS } from "../support/step_up_support.ts";
import { addPasskey } from "../support/console_passkey_support.ts";

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

const count = (html: string) => /<dt>Passkeys<\/dt><dd>(\d+)<\/dd>/.exec(html)?.[1];

/** A user with passkeys named `names`, added through their own console session. */
async function userWithPasskeys(t: TestApp, names: string[], role?: "super_admin") {
  const user = await registerUser(t);
  if (role) await t.deps.db.updateTable("users").set({ role }).where("id", "=", user.id).execute();
  const cookie = await signIn(t, user.email);
  const ids: string[] = [];
  for (const name of names) ids.push(String((await addPasskey(t, cookie, name)).passkey.id));
  return { ...user, passkeyIds: ids };
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
      /data-confirm="Remove the passkey &quot;Phone&quot; of [^"]+\? It will no longer sign them in, and their sessions are signed out\."/,
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
