/**
 * `/admin/users`: the accounts, searched by email prefix and filtered by status and role, a
 * page at a time, as `GET /api/v1/admin/users` lists them. The detail and its actions are in
 * admin_user_detail.tsx.
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import { ROLES } from "../services/roles.ts";
import {
  failurePage,
  Pager,
  ProblemNotice,
  problemOf,
  queryOf,
  queryValues,
  Select,
  statusOf,
  When,
} from "./admin_parts.tsx";
import type { ConsoleKit } from "./kit.ts";
import { Field, Page } from "./layout.tsx";
import { api, fieldErrors, sessionOr } from "./pages.ts";

/** A user as the admin API shows one. */
export interface AdminUser {
  id: string;
  email: string;
  name: string | null;
  role: string;
  status: string;
  created_at: string;
  last_login_at: string | null;
  email_verified: boolean;
  mfa_enabled: boolean;
  recovery_codes_left: number | null;
}

/** The role options of a select (labels for people, values for the API). */
export const ROLE_OPTIONS = ROLES.map((role) => [role, role.replace("_", " ")] as const);

const FILTERS = ["email_prefix", "status", "role", "cursor", "limit"] as const;
/** Users per page unless `?limit=` (1 to 100, the API's bounds) asks otherwise. */
const PAGE_SIZE = "25";

/** `GET /admin/users`. */
export function usersPage(kit: ConsoleKit) {
  return async function usersPageHandler(c: Context<AppEnv>) {
    const session = sessionOr(c);
    if (session instanceof Response) return session;
    const filters = queryValues(c, FILTERS);
    const answer = await api<{ users: AdminUser[]; next_cursor: string | null }>(
      kit,
      c,
      "GET",
      `/api/v1/admin/users${queryOf({ limit: PAGE_SIZE, ...filters })}`,
    );
    // A filter the API refused is shown next to its field; anything else is the page's failure.
    if (!answer.ok && answer.status !== 422) {
      return await failurePage(kit, c, answer, "/admin/users");
    }
    const errors = answer.ok ? {} : fieldErrors(answer);
    return c.html(
      <Page title="Users" ctx={await kit.pageContext(c)}>
        <form method="get" action="/admin/users" role="search" aria-label="Find users">
          <Field
            name="email_prefix"
            label="Email starts with"
            type="search"
            value={filters.email_prefix}
            error={errors.email_prefix}
            autocomplete="off"
          />
          <Select
            name="status"
            label="Status"
            value={filters.status}
            error={errors.status}
            options={[["", "Any status"], ["active", "active"], ["disabled", "disabled"]]}
          />
          <Select
            name="role"
            label="Role"
            value={filters.role}
            error={errors.role}
            options={[["", "Any role"], ...ROLE_OPTIONS]}
          />
          {filters.limit && <input type="hidden" name="limit" value={filters.limit} />}
          <div class="actions">
            <button type="submit">Search</button>
            <a href="/admin/users">Clear</a>
          </div>
        </form>
        {!answer.ok && <ProblemNotice problem={problemOf(answer)} back="/admin/users" />}
        {answer.ok && <UserTable users={answer.body.users} />}
        {answer.ok && (
          <Pager
            path="/admin/users"
            filters={filters}
            next={answer.body.next_cursor}
          />
        )}
      </Page>,
      answer.ok ? 200 : statusOf(answer),
    );
  };
}

function UserTable(props: { users: AdminUser[] }) {
  if (props.users.length === 0) return <p>No user matches.</p>;
  return (
    <div class="table">
      <table>
        <caption class="visually-hidden">Users</caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">MFA</th>
            <th scope="col">Created</th>
            <th scope="col">Last sign-in</th>
          </tr>
        </thead>
        <tbody>
          {props.users.map((user) => (
            <tr>
              <td>
                <a href={`/admin/users/${user.id}`}>{user.email}</a>
              </td>
              <td>{user.name ?? ""}</td>
              <td>{user.role.replace("_", " ")}</td>
              <td>{user.status}</td>
              <td>{user.mfa_enabled ? "on" : "off"}</td>
              <td>
                <When iso={user.created_at} />
              </td>
              <td>
                <When iso={user.last_login_at} empty="never" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
