/**
 * What the admin pages share: the page for a read the API refused (403 from its guard, 404),
 * the notice of a refused action (with the step-up link when the API asks for a recent
 * sign-in), a labelled select, times, and cursor paging whose links keep the filters.
 * @module
 */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../app_types.ts";
import type { ApiAnswer, ApiProblem } from "./api.ts";
import type { ConsoleKit } from "./kit.ts";
import { Page } from "./layout.tsx";

/** A user id as the API takes it; anything else never reaches an API path. */
export const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An API key id as the API takes it (one path segment, no dots). */
export const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The problem of a failed API answer. */
export const problemOf = (answer: ApiAnswer<unknown>) => answer.body as ApiProblem | undefined;

/** The HTTP status of a page that shows a failed API answer. */
export const statusOf = (answer: ApiAnswer<unknown>) => answer.status as ContentfulStatusCode;

/** The step-up page, coming back to `back` (a console path) afterwards. */
export function reauthenticateHref(back: string): string {
  return `/account/reauthenticate?next=${encodeURIComponent(back)}`;
}

/**
 * Why the API refused, next to the form that asked: its `detail`, or for the codes a person
 * can act on, what to do (a recent sign-in, a second factor).
 */
export function ProblemNotice(props: { problem: ApiProblem | undefined; back: string }) {
  const { problem, back } = props;
  if (problem?.code === "reauthentication_required") {
    return (
      <div class="flash error" role="alert">
        <p>This action needs a recent sign-in. Confirm it is you, then try again.</p>
        <p>
          <a href={reauthenticateHref(back)}>Confirm your identity</a>
        </p>
      </div>
    );
  }
  if (problem?.code === "mfa_enrollment_required") {
    return (
      <div class="flash error" role="alert">
        <p>
          Administrators must use a second factor here. Set one up on your account, then sign in
          again with it.
        </p>
        <p>
          <a href="/account">Your account</a>
        </p>
      </div>
    );
  }
  return (
    <div class="flash error" role="alert">
      <p>{problem?.detail ?? "The request failed. Try again."}</p>
      {problem?.errors && problem.errors.length > 0 && (
        <ul>
          {problem.errors.map((e) => <li>{`${e.field}: ${e.message}`}</li>)}
        </ul>
      )}
    </div>
  );
}

const TITLES: Record<number, string> = {
  401: "Sign in again",
  403: "Not allowed",
  404: "Not found",
};

/** The page for an API read that failed: its status, and why. */
export async function failurePage(
  kit: ConsoleKit,
  c: Context<AppEnv>,
  answer: ApiAnswer<unknown>,
  back: string,
  forbidden?: string,
): Promise<Response> {
  const problem = problemOf(answer);
  const title = TITLES[answer.status] ?? "Something went wrong";
  return c.html(
    <Page title={title} ctx={await kit.pageContext(c)}>
      {forbidden && problem?.code === "forbidden"
        ? <p>{forbidden}</p>
        : <ProblemNotice problem={problem} back={back} />}
      <p>
        <a href="/account">Back to your account</a>
      </p>
    </Page>,
    statusOf(answer),
  );
}

/** A labelled select with its error next to it. */
export function Select(
  props: {
    name: string;
    label: string;
    value?: string;
    options: ReadonlyArray<readonly [string, string]>;
    error?: string;
  },
) {
  const id = `f-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
      >
        {props.options.map(([value, text]) => (
          <option value={value} selected={value === (props.value ?? "")}>{text}</option>
        ))}
      </select>
      {props.error && <p class="error" id={`${id}-error`} role="alert">{props.error}</p>}
    </div>
  );
}

/** A time from the API (ISO-8601), shown in UTC to the minute; `empty` when there is none. */
export function When(props: { iso: unknown; empty?: string }) {
  if (typeof props.iso !== "string") return <>{props.empty ?? "—"}</>;
  return <time datetime={props.iso}>{`${props.iso.slice(0, 16).replace("T", " ")} UTC`}</time>;
}

/** A session as the API lists it (the owner's list and an admin's). */
export interface SessionRow {
  id: string;
  created_at: string;
  last_used_at: string | null;
  ip: string | null;
  user_agent: string | null;
  current?: boolean;
}

/** The table of a user's sessions; `action` adds a last column (the owner's sign-out). */
export function SessionTable(
  props: { sessions: SessionRow[]; action?: (session: SessionRow) => Child },
) {
  const { action } = props;
  return (
    <div class="table">
      <table>
        <thead>
          <tr>
            <th>Started</th>
            <th>Last used</th>
            <th>Address</th>
            <th>Browser</th>
            {action && (
              <th>
                <span class="visually-hidden">Action</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {props.sessions.map((s) => (
            <tr>
              <td>
                <When iso={s.created_at} />
              </td>
              <td>
                <When iso={s.last_used_at} />
              </td>
              <td>{s.ip ?? "—"}</td>
              <td>{s.user_agent ?? "—"}</td>
              {action && <td>{action(s)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** `?a=1&b=2` of the non-empty values (empty when none). */
export function queryOf(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** The request's query values of `names` (trimmed; empty ones left out). */
export function queryValues<N extends string>(
  c: Context<AppEnv>,
  names: readonly N[],
): Partial<Record<N, string>> {
  const values: Partial<Record<N, string>> = {};
  for (const name of names) {
    const value = c.req.query(name)?.trim();
    if (value) values[name] = value;
  }
  return values;
}

/** Cursor paging: back to the first page, and on to the next; both keep the filters. */
export function Pager(
  props: { path: string; filters: Record<string, string | undefined>; next: unknown },
) {
  const { path, filters, next } = props;
  const paged = filters.cursor !== undefined;
  if (!paged && typeof next !== "string") return null;
  return (
    <nav class="actions" aria-label="Pages">
      {paged && <a href={`${path}${queryOf({ ...filters, cursor: undefined })}`}>First page</a>}
      {typeof next === "string" && (
        <a href={`${path}${queryOf({ ...filters, cursor: next })}`} rel="next">Next page</a>
      )}
    </nav>
  );
}
