/**
 * The frame of every console page: the document head (one stylesheet, one script, both from
 * citadel itself and marked with the response's nonce), the navigation for the signed-in
 * role, a flash message, and the page's content. Also the small form parts every page uses:
 * a labelled field with its error next to it, and the CSRF input.
 */
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import { ASSET_HREF } from "./assets.ts";

/** What the layout needs to know about the request. */
export interface PageContext {
  nonce: string;
  csrf: string;
  /** The signed-in user, when there is one. */
  user?: { id: string; email: string; role: string };
  /** A one-line message at the top (after a redirect). */
  flash?: { kind: "ok" | "error"; text: string };
}

/**
 * The whole HTML document of a console page; `passkeys` adds the browser half of WebAuthn
 * (only the pages that run a passkey ceremony load it). Assets are linked by their versioned
 * address (assets.ts `ASSET_HREF`).
 */
export function Page(
  props: { title: string; ctx: PageContext; passkeys?: boolean; children?: Child },
) {
  const { ctx } = props;
  const admin = ctx.user && (ctx.user.role === "admin" || ctx.user.role === "super_admin");
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="no-referrer" />
          <title>{`${props.title} · citadel`}</title>
          <link rel="icon" href={ASSET_HREF.icon} type="image/svg+xml" />
          <link rel="stylesheet" href={ASSET_HREF.style} nonce={ctx.nonce} />
          {props.passkeys && <script src={ASSET_HREF.webauthn} nonce={ctx.nonce} defer></script>}
          <script src={ASSET_HREF.script} nonce={ctx.nonce} defer></script>
        </head>
        <body>
          <header class="top">
            <a class="brand" href="/account">citadel</a>
            {ctx.user && (
              <nav aria-label="Main">
                <a href="/account">Account</a>
                {admin && <a href="/admin/users">Users</a>}
                {admin && <a href="/admin/api-keys">API keys</a>}
                {admin && <a href="/admin/audit">Audit log</a>}
                {admin && <a href="/admin/check">Check</a>}
                {ctx.user.role === "super_admin" && <a href="/admin/signing-keys">Signing keys</a>}
                <form method="post" action="/account/sign-out" class="inline">
                  <Csrf token={ctx.csrf} />
                  <button type="submit" class="link">Sign out</button>
                </form>
              </nav>
            )}
          </header>
          <main id="main">
            <h1>{props.title}</h1>
            {ctx.flash && (
              <p
                class={`flash ${ctx.flash.kind}`}
                role={ctx.flash.kind === "error" ? "alert" : "status"}
              >
                {ctx.flash.text}
              </p>
            )}
            {props.children}
          </main>
        </body>
      </html>
    </>
  );
}

/** The hidden CSRF input every form carries. */
export function Csrf(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/** A labelled input with its error announced next to it. */
export function Field(
  props: {
    name: string;
    label: string;
    /** The input's id when a page has two fields of one name (default `f-<name>`). */
    id?: string;
    type?: string;
    value?: string;
    error?: string;
    autocomplete?: string;
    required?: boolean;
    inputmode?: "numeric" | "email" | "text";
    /** The most characters the input takes (the API's limit, so it is never exceeded). */
    maxlength?: number;
    hint?: string;
  },
) {
  const id = props.id ?? `f-${props.name}`;
  const described = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""]
    .filter(Boolean).join(" ") || undefined;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        autocomplete={props.autocomplete}
        required={props.required}
        inputmode={props.inputmode}
        maxlength={props.maxlength}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={described}
      />
      {props.hint && <p class="hint" id={`${id}-hint`}>{props.hint}</p>}
      {props.error && <p class="error" id={`${id}-error`} role="alert">{props.error}</p>}
    </div>
  );
}

/** The errors of a problem answer, by field (`_` for the whole form). */
export type FieldErrors = Record<string, string>;
