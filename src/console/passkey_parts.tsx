/**
 * What the console's passkey ceremonies share. A ceremony is a form marked `data-passkey`,
 * hidden until the console script finds WebAuthn in the browser: the script posts the form's
 * fields as JSON (CSRF token in a header) to `data-options`, hands the options to
 * `@simplewebauthn/browser` (served by citadel, assets.ts `ASSET_HREF.webauthn`), posts
 * the answer to the form's `action`, then follows the `location` it gets back (a path of this
 * site), or shows the refusal in the form's alert (and follows its `location` when it has
 * one: a step that cannot be retried). The endpoints answer JSON, problems and unexpected
 * failures included.
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import { AppError } from "../errors.ts";
import { sendProblem } from "../middleware/errors.ts";
import type { ApiAnswer } from "./api.ts";
import type { PasskeyView } from "../services/passkeys.ts";
import { When } from "./admin_parts.tsx";
import { Csrf } from "./layout.tsx";

/** What a ceremony form does: create a passkey, or sign with one. */
export type Ceremony = "register" | "authenticate";

/**
 * A ceremony's form: hidden inputs, the fields it asks for (children), its alert and its
 * button. `reauthenticate` is where a refusal for a stale sign-in sends the browser.
 */
export function PasskeyForm(
  props: {
    ceremony: Ceremony;
    options: string;
    action: string;
    csrf: string;
    button: string;
    hidden?: Record<string, string>;
    reauthenticate?: string;
    secondary?: boolean;
    children?: unknown;
  },
) {
  return (
    <form
      method="post"
      action={props.action}
      data-passkey={props.ceremony}
      data-options={props.options}
      data-reauthenticate={props.reauthenticate}
      hidden
    >
      <Csrf token={props.csrf} />
      {Object.entries(props.hidden ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      {props.children}
      <p class="error" role="alert" data-passkey-error hidden></p>
      <button type="submit" class={props.secondary ? "secondary" : undefined}>
        {props.button}
      </button>
    </form>
  );
}

/** Shown where a passkey is offered, until the script finds WebAuthn in the browser. */
export function PasskeyUnsupported(props: { text: string }) {
  return <p class="hint" data-passkey-unsupported>{props.text}</p>;
}

/**
 * An unexpected failure of a ceremony's JSON endpoint, carried to the console's error handler
 * (console_app.tsx), which answers it as the API answers one: logged, problem+json with the
 * request id, never the HTML error page the script could not read.
 */
export class JsonEndpointFailure extends Error {
  /** What was thrown (a non-Error value wrapped in one). */
  readonly original: Error;

  constructor(thrown: unknown) {
    super("A console JSON endpoint failed", { cause: thrown });
    this.name = "JsonEndpointFailure";
    this.original = thrown instanceof Error ? thrown : new Error(String(thrown));
  }
}

/**
 * A JSON endpoint of a ceremony: a refusal raised on the way (the Origin or CSRF check, a
 * size, a malformed body) is answered as problem+json, not as a page; anything else becomes a
 * {@linkcode JsonEndpointFailure}.
 */
export function jsonEndpoint(
  handler: (c: Context<AppEnv>) => Promise<Response>,
): (c: Context<AppEnv>) => Promise<Response> {
  return async function passkeyEndpoint(c) {
    try {
      return await handler(c);
    } catch (error) {
      if (error instanceof AppError && error.status < 500) return sendProblem(c, error);
      throw new JsonEndpointFailure(error);
    }
  };
}

/** The API's answer passed on as it is (status and JSON), with `extra` fields on a success. */
export function relay(
  c: Context<AppEnv>,
  answer: ApiAnswer<unknown>,
  extra: Record<string, unknown> = {},
): Response {
  const body = (answer.body ?? {}) as Record<string, unknown>;
  const headers: Record<string, string> = {
    "content-type": answer.ok ? "application/json" : "application/problem+json",
  };
  const retryAfter = answer.headers.get("retry-after");
  if (retryAfter) headers["retry-after"] = retryAfter;
  return c.body(JSON.stringify(answer.ok ? { ...body, ...extra } : body), {
    status: answer.status as 200,
    headers,
  });
}

/** A string field of a ceremony's JSON body ("" when absent or not a string). */
export const textOf = (body: Record<string, unknown>, name: string) =>
  typeof body[name] === "string" ? body[name] as string : "";

/**
 * A user's passkeys (name, created, last used, backed up) with a cell of actions per row: the
 * owner's rename and remove on /account, an administrator's remove on the user's page; `note`
 * marks a row next to its name (a suspended passkey on the user's page).
 */
export function PasskeyTable<P extends PasskeyView>(
  props: {
    passkeys: P[];
    actions: (passkey: P) => unknown;
    note?: (passkey: P) => string | undefined;
  },
) {
  return (
    <div class="table">
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Backed up</th>
            <th>
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.passkeys.map((p) => (
            <tr>
              <td>
                {p.name}
                {props.note?.(p) && (
                  <>
                    {" "}
                    <span class="badge">{props.note(p)}</span>
                  </>
                )}
              </td>
              <td>
                <When iso={p.created_at} />
              </td>
              <td>
                <When iso={p.last_used_at} empty="never" />
              </td>
              <td>{p.backed_up ? "yes" : "no"}</td>
              <td>{props.actions(p)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
