/**
 * An administrator and a user's passkeys (issue 20): `GET /api/v1/admin/users/:id/passkeys`
 * (admin:read) lists them; `DELETE /api/v1/admin/users/:id/passkeys/:passkeyId` (admin:write,
 * a fresh sign-in, the role hierarchy, an administrator's passkey only by a super admin)
 * removes one, ends every session of the user and is audited with the administrator as actor.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { adminSession, authed } from "../support/auth_support.ts";
import { buildTestApp, request } from "../support/helpers.ts";
import { assertProblem, auditRows, midStepMs } from "../support/mfa_support.ts";
import {
  apiKey,
  assertSessionEnded,
  assertSessionWorks,
  passkeyRows,
  passkeySignIn,
  passkeyUser,
  registerPasskey,
  revokeReasons,
  VIEW_FIELDS,
  withKey,
  withoutPasskeyId,
} from "../support/passkey_support.ts";
import { staleSession } from "../support/step_up_support.ts";

const passkeysOf = (userId: string) => `/api/v1/admin/users/${userId}/passkeys`;

Deno.test("GET /admin/users/:id/passkeys: an admin sees the user's passkeys as the user does, with suspended_at; a plain user and an admin's key without admin:read are refused 403", async () => {
  const t = await buildTestApp();
  try {
    const target = await passkeyUser(t);
    const admin = await adminSession(t, "admin");
    const reader = await apiKey(t, admin.tokens.access_token, ["admin:read"]);
    const noScope = await apiKey(t, admin.tokens.access_token, ["me:read"]);
    const plain = await passkeyUser(t);

    const res = await authed(t, "GET", passkeysOf(target.id), admin.tokens.access_token);
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(Object.keys(body), ["passkeys"]);
    const own = await (await authed(t, "GET", "/api/v1/me/passkeys", target.accessToken)).json();
    assert.deepEqual(
      body.passkeys.map(({ suspended_at, ...view }: Record<string, unknown>) => {
        assert.equal(suspended_at, null, "not suspended");
        return view;
      }),
      own.passkeys,
      "the owner's view, and whether it is suspended",
    );
    assert.deepEqual(Object.keys(body.passkeys[0]).sort(), [...VIEW_FIELDS, "suspended_at"].sort());
    assert.equal(body.passkeys[0].id, target.passkey.id);

    const byKey = await withKey(t, "GET", passkeysOf(target.id), reader);
    assert.equal(byKey.status, 200);
    assert.deepEqual(await byKey.json(), body);

    await assertProblem(
      await authed(t, "GET", passkeysOf(target.id), plain.accessToken),
      403,
      "forbidden",
    );
    await assertProblem(
      await withKey(t, "GET", passkeysOf(target.id), noScope),
      403,
      "insufficient_scope",
    );
    await assertProblem(await request(t.app, "GET", passkeysOf(target.id)), 401, "unauthorized");
    const unknown = await authed(
      t,
      "GET",
      passkeysOf(crypto.randomUUID()),
      admin.tokens.access_token,
    );
    await assertProblem(unknown, 404, "not_found");
    // A user without passkeys has an empty list.
    const empty = await authed(t, "GET", passkeysOf(admin.user.id), admin.tokens.access_token);
    assert.deepEqual(await empty.json(), { passkeys: [] });
  } finally {
    await t.close();
  }
});

Deno.test("DELETE /admin/users/:id/passkeys/:passkeyId in a fresh admin session: 204, every session of the user ends, audited passkey.removed with the admin as actor and sessions_revoked, and the passkey signs in no more", async () => {
  const t = await buildTestApp();
  try {
    const target = await passkeyUser(t);
    const kept = await registerPasskey(t, target.accessToken, { name: "Phone" });
    // A second session of the user, opened by the passkey about to be removed.
    const byPasskey = await passkeySignIn(t, target.authenticator);
    assert.equal(byPasskey.status, 200, await byPasskey.clone().text());
    const second = await byPasskey.json();
    const admin = await adminSession(t, "admin");
    const res = await authed(
      t,
      "DELETE",
      `${passkeysOf(target.id)}/${target.passkey.id}`,
      admin.tokens.access_token,
    );
    assert.equal(res.status, 204, await res.clone().text());
    assert.deepEqual((await passkeyRows(t, target.id)).map((r) => r.id), [kept.passkey.id]);

    const [event, ...more] = await auditRows(t, "passkey.removed");
    assert.equal(more.length, 0);
    assert.equal(event.actor_type, "user");
    assert.equal(event.actor_id, admin.user.id);
    assert.equal(event.target_type, "user");
    assert.equal(event.target_id, target.id);
    assert.equal(event.outcome, "success");
    assert.deepEqual(withoutPasskeyId(event.details), { name: "Laptop", sessions_revoked: 2 });

    // Every session of the user has ended; the administrator's goes on.
    assert.deepEqual(await revokeReasons(t, target.id), ["passkey_removed", "passkey_removed"]);
    await assertSessionEnded(t, {
      access_token: target.accessToken,
      refresh_token: target.refreshToken,
    }, "the session that registered the passkeys");
    await assertSessionEnded(t, second, "the passkey's own session");
    await assertSessionWorks(t, admin.tokens, "the administrator's session");

    const signIn = await passkeySignIn(t, target.authenticator);
    await assertProblem(signIn, 401, "invalid_passkey");
    const other = await passkeySignIn(t, kept.authenticator);
    assert.equal(other.status, 200, "the user's other passkey is untouched");
    await other.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("DELETE /admin/users/:id/passkeys/:passkeyId is refused: a stale admin session 403 reauthentication_required, an admin on a super admin's or another admin's passkey 403 forbidden, an unknown or another user's passkey 404 passkey_not_found; a super admin removes an admin's passkey", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const staleAdmin = await adminSession(t, "admin");
    const stale = await staleSession(t, clock, staleAdmin.tokens);
    const target = await passkeyUser(t);
    const other = await passkeyUser(t);
    const superAdmin = await adminSession(t, "super_admin");
    const superKey = await registerPasskey(t, superAdmin.tokens.access_token);
    const otherAdmin = await adminSession(t, "admin");
    const adminKey = await registerPasskey(t, otherAdmin.tokens.access_token);
    const admin = await adminSession(t, "admin");
    const path = (userId: string, passkeyId: string) => `${passkeysOf(userId)}/${passkeyId}`;

    const cases: Array<[string, string, string, number, string]> = [
      [
        "a stale admin session",
        stale.access_token,
        path(target.id, target.passkey.id),
        403,
        "reauthentication_required",
      ],
      [
        "an admin, on a super admin's passkey",
        admin.tokens.access_token,
        path(superAdmin.user.id, superKey.passkey.id),
        403,
        "forbidden",
      ],
      [
        "an admin, on another admin's passkey",
        admin.tokens.access_token,
        path(otherAdmin.user.id, adminKey.passkey.id),
        403,
        "forbidden",
      ],
      [
        "an unknown passkey id",
        admin.tokens.access_token,
        path(target.id, crypto.randomUUID()),
        404,
        "passkey_not_found",
      ],
      [
        "another user's passkey under this user",
        admin.tokens.access_token,
        path(target.id, other.passkey.id),
        404,
        "passkey_not_found",
      ],
      ["a plain user", other.accessToken, path(target.id, target.passkey.id), 403, "forbidden"],
      [
        "an unknown user",
        admin.tokens.access_token,
        path(crypto.randomUUID(), target.passkey.id),
        404,
        "not_found",
      ],
    ];
    for (const [who, token, url, status, code] of cases) {
      const problem = await assertProblem(await authed(t, "DELETE", url, token), status, code);
      assert.equal(problem.status, status, who);
    }
    const notAnId = await authed(t, "DELETE", path(target.id, "x"), admin.tokens.access_token);
    await assertProblem(notAnId, 422, "validation_failed");
    for (const user of [target, other]) assert.equal((await passkeyRows(t, user.id)).length, 1);
    assert.equal((await passkeyRows(t, superAdmin.user.id)).length, 1);
    assert.equal((await passkeyRows(t, otherAdmin.user.id)).length, 1);
    assert.equal((await auditRows(t, "passkey.removed")).length, 0);
    // The refused admin ended no session of the other administrator.
    const otherAdminTokens = await assertSessionWorks(
      t,
      otherAdmin.tokens,
      "the other admin's session",
    );

    // A super admin may, on an administrator's passkey: it is gone, and so are their sessions.
    const bySuper = await authed(
      t,
      "DELETE",
      path(otherAdmin.user.id, adminKey.passkey.id),
      superAdmin.tokens.access_token,
    );
    assert.equal(bySuper.status, 204, await bySuper.clone().text());
    assert.equal((await passkeyRows(t, otherAdmin.user.id)).length, 0);
    const [event] = await auditRows(t, "passkey.removed");
    assert.equal(event.actor_id, superAdmin.user.id);
    assert.equal(event.target_id, otherAdmin.user.id);
    assert.deepEqual(event.details, {
      passkey_id: adminKey.passkey.id,
      name: "Laptop",
      sessions_revoked: 1,
    });
    await assertSessionEnded(t, otherAdminTokens, "the administrator's session");
    await assertSessionWorks(t, superAdmin.tokens, "the super admin's session");
    const ownSuper = await authed(
      t,
      "DELETE",
      path(superAdmin.user.id, superKey.passkey.id),
      superAdmin.tokens.access_token,
    );
    assert.equal(ownSuper.status, 204, await ownSuper.clone().text());
  } finally {
    await t.close();
  }
});

Deno.test("GET /admin/users/:id/passkeys names the passkey a counter regression suspended, so an administrator knows which one to remove", async () => {
  const t = await buildTestApp();
  try {
    const target = await passkeyUser(t);
    const admin = await adminSession(t, "admin");
    assert.equal((await passkeySignIn(t, target.authenticator)).status, 200);
    const regressed = await passkeySignIn(t, target.authenticator, { tweaks: { counter: 1 } });
    await assertProblem(regressed, 401, "invalid_passkey");
    const res = await authed(t, "GET", passkeysOf(target.id), admin.tokens.access_token);
    const [listed] = (await res.json()).passkeys;
    assert.equal(listed.id, target.passkey.id);
    assert.equal(typeof listed.suspended_at, "string");
    assert.ok(!Number.isNaN(Date.parse(listed.suspended_at)));
    const own = await (await authed(t, "GET", "/api/v1/me/passkeys", target.accessToken)).json();
    assert.ok(!("suspended_at" in own.passkeys[0]), "the owner's view keeps its contract");
  } finally {
    await t.close();
  }
});
