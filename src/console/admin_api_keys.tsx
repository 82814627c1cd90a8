/**
 * `/admin/api-keys`: everyone's API keys as `GET /api/v1/admin/api-keys` lists them (by
 * owner, with or without the revoked ones), each with its owner and a confirmed revoke
 * (`DELETE /api/v1/admin/api-keys/:id`, where a super admin's keys are the super admin's).
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { ApiAnswer } from "./api.ts";
import {
  failurePage,
  KEY_ID,
  Pager,
  ProblemNotice,
  problemOf,
  queryOf,
  queryValues,
  statusOf,
  USER_ID,
  When,
} from "./admin_parts.tsx";
import { formOf } from "./context.ts";
import type { ConsoleKit } from "./kit.ts";
import { Csrf, Field, Page } from "./layout.tsx";
import { api, fieldErrors, flashOf, sessionOr } from "./pages.ts";

/** An API key as the admin API shows one (never its secret). */
export interface AdminKey {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/**
 * A table of keys with a revoke form for each one not revoked. `owners` (user id → email)
 * adds the owner column; `hidden` fields go with each revoke form.
 */
export function KeyTable(
  props: {
    keys: AdminKey[];
    csrf: string;
    revokeAction: (key: AdminKey) => string;
    owners?: ReadonlyMap<string, string>;
    hidden?: Record<string, string | undefined>;
  },
) {
  const { owners } = props;
  if (props.keys.length === 0) return <p>No API keys.</p>;
  return (
    <div class="table">
      <table>
        <caption class="visually-hidden">API keys</caption>
        <thead>
          <tr>
            {owners && <th scope="col">Owner</th>}
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            <th scope="col">Scopes</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.keys.map((key) => (
            <tr>
              {owners && (
                <td>
                  <a href={`/admin/users/${key.user_id}`}>
                    {owners.get(key.user_id) ?? key.user_id}
                  </a>
                </td>
              )}
              <td>{key.name}</td>
              <td>
                <code>{key.prefix}</code>
              </td>
              <td>{key.scopes.join(", ")}</td>
              <td>
                <When iso={key.expires_at} empty="never" />
              </td>
              <td>
                <When iso={key.last_used_at} empty="never" />
              </td>
              <td>
                {key.revoked_at
                  ? (
                    <>
                      revoked <When iso={key.revoked_at} />
                    </>
                  )
                  : "not revoked"}
              </td>
              <td>
                {!key.revoked_at && (
                  <form
                    method="post"
                    action={props.revokeAction(key)}
                    class="inline"
                    data-confirm={`Revoke the API key ${key.name} (${key.prefix})? Whatever uses it stops working.`}
                  >
                    <Csrf token={props.csrf} />
                    {Object.entries(props.hidden ?? {}).filter(([, value]) => value).map((
                      [name, value],
                    ) => <input type="hidden" name={name} value={value} />)}
                    <button type="submit" class="danger">Revoke</button>
                  </form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const FILTERS = ["user_id", "include_revoked", "cursor", "limit"] as const;
/** Keys per page: each distinct owner is one more API read, so the page stays small. */
const PAGE_SIZE = "20";

/** The emails of the keys' owners (an owner the API does not show keeps its id). */
async function ownersOf(kit: ConsoleKit, c: Context<AppEnv>, keys: AdminKey[]) {
  const ids = [...new Set(keys.map((key) => key.user_id))];
  const owners = new Map<string, string>();
  await Promise.all(ids.map(async (id) => {
    const answer = await api<{ user: { email: string } }>(
      kit,
      c,
      "GET",
      `/api/v1/admin/users/${id}`,
    );
    if (answer.ok) owners.set(id, answer.body.user.email);
  }));
  return owners;
}

async function renderKeys(
  kit: ConsoleKit,
  c: Context<AppEnv>,
  filters: Partial<Record<typeof FILTERS[number], string>>,
  refused?: ApiAnswer<unknown>,
): Promise<Response> {
  const query = { ...filters, include_revoked: filters.include_revoked === "true" ? "true" : "" };
  const answer = await api<{ api_keys: AdminKey[]; next_cursor: string | null }>(
    kit,
    c,
    "GET",
    `/api/v1/admin/api-keys${queryOf({ limit: PAGE_SIZE, ...query })}`,
  );
  if (!answer.ok && answer.status !== 422) {
    return await failurePage(kit, c, answer, "/admin/api-keys");
  }
  const errors = answer.ok ? {} : fieldErrors(answer);
  const owners = answer.ok ? await ownersOf(kit, c, answer.body.api_keys) : new Map();
  const ctx = await kit.pageContext(
    c,
    refused ? undefined : flashOf(c, { revoked: "The API key is revoked." }),
  );
  return c.html(
    <Page title="API keys" ctx={ctx}>
      {refused && <ProblemNotice problem={problemOf(refused)} back="/admin/api-keys" />}
      <form method="get" action="/admin/api-keys" aria-label="Filter API keys">
        <Field
          name="user_id"
          label="Owner's user id"
          value={filters.user_id}
          error={errors.user_id}
          autocomplete="off"
        />
        <div class="field">
          <label>
            <input
              type="checkbox"
              name="include_revoked"
              value="true"
              checked={query.include_revoked === "true"}
            />{" "}
            Include revoked keys
          </label>
        </div>
        <div class="actions">
          <button type="submit">Filter</button>
          <a href="/admin/api-keys">Clear</a>
        </div>
      </form>
      {!answer.ok && <ProblemNotice problem={problemOf(answer)} back="/admin/api-keys" />}
      {answer.ok && (
        <KeyTable
          keys={answer.body.api_keys}
          csrf={ctx.csrf}
          owners={owners}
          revokeAction={(key) => `/admin/api-keys/${key.id}/revoke`}
          hidden={{ user_id: filters.user_id, include_revoked: query.include_revoked }}
        />
      )}
      {answer.ok && <Pager path="/admin/api-keys" filters={query} next={answer.body.next_cursor} />}
    </Page>,
    refused ? statusOf(refused) : answer.ok ? 200 : statusOf(answer),
  );
}

/** `GET /admin/api-keys` and `POST /admin/api-keys/:kid/revoke`. */
export function apiKeyHandlers(kit: ConsoleKit) {
  return {
    async page(c: Context<AppEnv>) {
      const session = sessionOr(c);
      if (session instanceof Response) return session;
      return await renderKeys(kit, c, queryValues(c, FILTERS));
    },
    async revoke(c: Context<AppEnv>) {
      // The session first: an expired one is sent to sign in, not refused as a forged form.
      const session = sessionOr(c);
      if (session instanceof Response) return session;
      const form = await formOf(c, kit.services);
      const filters = {
        user_id: USER_ID.test(form.user_id ?? "") ? form.user_id : undefined,
        include_revoked: form.include_revoked === "true" ? "true" : undefined,
      };
      const kid = c.req.param("kid") ?? "";
      const answer: ApiAnswer<unknown> = KEY_ID.test(kid)
        ? await api(kit, c, "DELETE", `/api/v1/admin/api-keys/${kid}`)
        : {
          status: 404,
          ok: false,
          body: { code: "not_found", detail: "No such API key" },
          headers: new Headers(),
        };
      if (answer.ok) {
        return c.redirect(`/admin/api-keys${queryOf({ ...filters, done: "revoked" })}`, 303);
      }
      return await renderKeys(kit, c, filters, answer);
    },
  };
}
