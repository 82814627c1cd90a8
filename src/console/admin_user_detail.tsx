/**
 * `/admin/users/:id`: one account (status, role, MFA, email verification, its API keys) and
 * what an administrator may do to it: disable or enable, change the role, revoke the sessions,
 * reset MFA, revoke a key. Each action is a confirmed POST form that calls the API route that
 * does it, so least privilege and step-up are the API's and its refusal is shown as it says.
 * Its active sessions are listed as `GET /api/v1/admin/users/:id/sessions` answers them, its
 * passkeys as admin_user_passkeys.tsx shows them.
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import { type ApiAnswer, type ApiProblem } from "./api.ts";
import { type AdminKey, KeyTable } from "./admin_api_keys.tsx";
import {
  failurePage,
  KEY_ID,
  ProblemNotice,
  problemOf,
  Select,
  type SessionRow,
  SessionTable,
  statusOf,
  USER_ID,
  When,
} from "./admin_parts.tsx";
import { type AdminUser, ROLE_OPTIONS } from "./admin_users.tsx";
import type { AdminPasskeyView } from "../services/passkeys.ts";
import { AdminPasskeys, passkeyCount } from "./admin_user_passkeys.tsx";
import { formOf } from "./context.ts";
import type { ConsoleKit } from "./kit.ts";
import { Csrf, Page, type PageContext } from "./layout.tsx";
import { api, flashOf, sessionOr } from "./pages.ts";

const DONE: Record<string, string> = {
  disabled: "The account is disabled and its sessions are signed out.",
  enabled: "The account is enabled.",
  role: "The role is changed.",
  sessions: "The sessions are revoked.",
  mfa: "The second factor is removed.",
  key: "The API key is revoked.",
  passkey: "The passkey is removed and the user's sessions are signed out.",
};

const notFound = {
  status: 404,
  ok: false,
  body: { code: "not_found", detail: "No such user" },
  headers: new Headers(),
} satisfies ApiAnswer<ApiProblem>;

/** Renders the detail of user `id`, with the problem of a refused action when there is one. */
async function renderDetail(
  kit: ConsoleKit,
  c: Context<AppEnv>,
  id: string,
  refused?: ApiAnswer<unknown>,
): Promise<Response> {
  const back = `/admin/users/${id}`;
  if (!USER_ID.test(id)) return await failurePage(kit, c, notFound, "/admin/users");
  const answer = await api<{ user: AdminUser }>(kit, c, "GET", `/api/v1/admin/users/${id}`);
  if (!answer.ok) return await failurePage(kit, c, answer, back);
  const sessions = await api<{ sessions: SessionRow[] }>(
    kit,
    c,
    "GET",
    `/api/v1/admin/users/${id}/sessions`,
  );
  const passkeys = await api<{ passkeys: AdminPasskeyView[] }>(
    kit,
    c,
    "GET",
    `/api/v1/admin/users/${id}/passkeys`,
  );
  const keys = await api<{ api_keys: AdminKey[]; next_cursor: string | null }>(
    kit,
    c,
    "GET",
    `/api/v1/admin/api-keys?user_id=${id}&include_revoked=true&limit=100`,
  );
  const ctx = await kit.pageContext(c, refused ? undefined : flashOf(c, DONE));
  const user = answer.body.user;
  return c.html(
    <Page title={user.email} ctx={ctx}>
      {refused && <ProblemNotice problem={problemOf(refused)} back={back} />}
      <p>
        <a href="/admin/users">All users</a> ·{" "}
        <a href={`/admin/audit?actor=${user.id}`}>Audit events by this user</a>
      </p>
      <dl>
        <dt>Name</dt>
        <dd>{user.name ?? "—"}</dd>
        <dt>User id</dt>
        <dd>
          <code>{user.id}</code>
        </dd>
        <dt>Status</dt>
        <dd>{user.status}</dd>
        <dt>Role</dt>
        <dd>{user.role.replace("_", " ")}</dd>
        <dt>Email verified</dt>
        <dd>{user.email_verified ? "yes" : "no"}</dd>
        <dt>Second factor (MFA)</dt>
        <dd>
          {user.mfa_enabled ? `on (${user.recovery_codes_left ?? 0} recovery codes left)` : "off"}
        </dd>
        <dt>Passkeys</dt>
        <dd>{passkeys.ok ? passkeyCount(passkeys.body.passkeys) : "—"}</dd>
        <dt>Created</dt>
        <dd>
          <When iso={user.created_at} />
        </dd>
        <dt>Last sign-in</dt>
        <dd>
          <When iso={user.last_login_at} empty="never" />
        </dd>
      </dl>
      <Actions
        ctx={ctx}
        user={user}
        passkeys={passkeys.ok ? passkeys.body.passkeys.length : 0}
      />
      <section aria-labelledby="sessions">
        <h2 id="sessions">Active sessions</h2>
        {sessions.ok
          ? <SessionTable sessions={sessions.body.sessions} />
          : <ProblemNotice problem={problemOf(sessions)} back={back} />}
      </section>
      <section aria-labelledby="passkeys">
        <h2 id="passkeys">Passkeys</h2>
        {passkeys.ok
          ? <AdminPasskeys user={user} passkeys={passkeys.body.passkeys} ctx={ctx} />
          : <ProblemNotice problem={problemOf(passkeys)} back={back} />}
      </section>
      <section aria-labelledby="keys">
        <h2 id="keys">API keys</h2>
        {keys.ok
          ? (
            <KeyTable
              keys={keys.body.api_keys}
              csrf={ctx.csrf}
              revokeAction={(key) => `${back}/api-keys/${key.id}/revoke`}
            />
          )
          : <ProblemNotice problem={problemOf(keys)} back={back} />}
        {keys.ok && keys.body.next_cursor && (
          <p>
            <a href={`/admin/api-keys?user_id=${user.id}&include_revoked=true`}>All keys</a>
          </p>
        )}
      </section>
    </Page>,
    refused ? statusOf(refused) : 200,
  );
}

function Actions(props: { ctx: PageContext; user: AdminUser; passkeys: number }) {
  const { ctx, user } = props;
  const base = `/admin/users/${user.id}`;
  const disable = user.status === "active";
  return (
    <section aria-labelledby="actions">
      <h2 id="actions">Actions</h2>
      <form
        method="post"
        action={`${base}/status`}
        data-confirm={disable
          ? `Disable ${user.email}? Their sessions and API tokens stop working.`
          : `Enable ${user.email}?`}
      >
        <Csrf token={ctx.csrf} />
        <input type="hidden" name="status" value={disable ? "disabled" : "active"} />
        <button type="submit" class={disable ? "danger" : undefined}>
          {disable ? "Disable account" : "Enable account"}
        </button>
      </form>
      <form
        method="post"
        action={`${base}/role`}
        data-confirm={`Change the role of ${user.email}?`}
      >
        <Csrf token={ctx.csrf} />
        <Select name="role" label="Role" value={user.role} options={ROLE_OPTIONS} />
        <button type="submit" class="secondary">Change role</button>
      </form>
      <form
        method="post"
        action={`${base}/revoke-sessions`}
        data-confirm={`Sign ${user.email} out everywhere?`}
      >
        <Csrf token={ctx.csrf} />
        <div class="field">
          <label>
            <input type="checkbox" name="revoke_api_keys" value="on" /> Also revoke their API keys
          </label>
        </div>
        <button type="submit" class="danger">Revoke sessions</button>
      </form>
      {(user.mfa_enabled || props.passkeys > 0) && (
        <form
          method="post"
          action={`${base}/mfa-reset`}
          data-confirm={`Reset the second factor of ${user.email}? This removes their ` +
            "authenticator app, their recovery codes and all their passkeys, and ends their " +
            "sessions; they sign in with the password alone until they set one up again."}
        >
          <Csrf token={ctx.csrf} />
          <button type="submit" class="danger">Reset MFA</button>
        </form>
      )}
    </section>
  );
}

/** A POST action on user `:id`: the checked form, the API call, then the page again. */
function action(
  kit: ConsoleKit,
  call: (
    c: Context<AppEnv>,
    id: string,
    form: Record<string, string>,
  ) => Promise<[ApiAnswer<unknown>, string]>,
) {
  return async function adminUserAction(c: Context<AppEnv>) {
    // The session first: an expired one is sent to sign in, not refused as a forged form.
    const session = sessionOr(c);
    if (session instanceof Response) return session;
    const form = await formOf(c, kit.services);
    const id = c.req.param("id") ?? "";
    if (!USER_ID.test(id)) return await failurePage(kit, c, notFound, "/admin/users");
    const [answer, done] = await call(c, id, form);
    if (answer.ok) return c.redirect(`/admin/users/${id}?done=${done}`, 303);
    return await renderDetail(kit, c, id, answer);
  };
}

/** The detail page and its actions, relative to `/admin/users`. */
export function userDetailHandlers(kit: ConsoleKit) {
  const patch = (c: Context<AppEnv>, id: string, body: Record<string, string>) =>
    api(kit, c, "PATCH", `/api/v1/admin/users/${id}`, body);
  return {
    async page(c: Context<AppEnv>) {
      const session = sessionOr(c);
      if (session instanceof Response) return session;
      return await renderDetail(kit, c, c.req.param("id") ?? "");
    },
    status: action(kit, async (c, id, form) => {
      const status = form.status === "active" ? "active" : "disabled";
      return [await patch(c, id, { status }), status === "active" ? "enabled" : "disabled"];
    }),
    role: action(
      kit,
      async (c, id, form) => [await patch(c, id, { role: form.role ?? "" }), "role"],
    ),
    revokeSessions: action(kit, async (c, id, form) => [
      await api(kit, c, "POST", `/api/v1/admin/users/${id}/revoke-sessions`, {
        revoke_api_keys: form.revoke_api_keys === "on",
      }),
      "sessions",
    ]),
    resetMfa: action(kit, async (c, id) => [
      await api(kit, c, "POST", `/api/v1/admin/users/${id}/mfa/reset`),
      "mfa",
    ]),
    removePasskey: action(kit, async (c, id) => {
      const pid = c.req.param("pid") ?? "";
      const answer = USER_ID.test(pid)
        ? await api(kit, c, "DELETE", `/api/v1/admin/users/${id}/passkeys/${pid}`)
        : { ...notFound, body: { code: "not_found", detail: "No such passkey" } };
      return [answer, "passkey"];
    }),
    revokeKey: action(kit, async (c) => {
      const kid = c.req.param("kid") ?? "";
      const answer = KEY_ID.test(kid)
        ? await api(kit, c, "DELETE", `/api/v1/admin/api-keys/${kid}`)
        : { ...notFound, body: { code: "not_found", detail: "No such API key" } };
      return [answer, "key"];
    }),
  };
}
