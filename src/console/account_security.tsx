/**
 * The account page's security sections and their pages: two-factor authentication (the QR
 * code of the enrolment, drawn on the server as SVG; the recovery codes, shown once) and the
 * user's own API keys (created with scopes and an expiry, the secret shown once with a copy
 * button, rotated, revoked). Every action is the API's own route.
 */
import { type Context, Hono } from "hono";
import { raw } from "hono/html";
import { renderSVG } from "uqr";
import type { AppEnv } from "../app_types.ts";
import { API_KEY_SCOPES } from "../services/api_keys.ts";
import { isAdminRole } from "../services/roles.ts";
import { errorOf, FormError, type FormErrors, type MeView, stepUpRedirect } from "./forms.tsx";
import type { ApiAnswer } from "./api.ts";
import { formOf } from "./context.ts";
import { When } from "./admin_parts.tsx";
import type { ConsoleKit } from "./kit.ts";
import { Csrf, Field, Page } from "./layout.tsx";
import { api, fieldErrors, sessionOr } from "./pages.ts";

/** An API key as `GET /api/v1/api-keys` lists it. */
export interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** The two-factor section of the account page. */
export function mfaSection(user: MeView, csrf: string, failed?: FormErrors) {
  return (
    <section aria-labelledby="mfa">
      <h2 id="mfa">Two-factor authentication</h2>
      {user.mfa_enabled
        ? (
          <>
            <p>
              On. <span class="badge">{`${user.recovery_codes_left} recovery codes left`}</span>
            </p>
            <form method="post" action="/account/mfa/recovery-codes">
              <Csrf token={csrf} />
              <Field
                name="code"
                id="f-recovery-code"
                label="Code from your app, for new recovery codes"
                autocomplete="one-time-code"
                inputmode="numeric"
                error={errorOf(failed, "recovery", "code")}
              />
              <FormError failed={failed} form="recovery" />
              <button type="submit" class="secondary">New recovery codes</button>
            </form>
            <form
              method="post"
              action="/account/mfa/disable"
              data-confirm="Turn two-factor authentication off?"
            >
              <Csrf token={csrf} />
              <Field
                name="code"
                id="f-off-code"
                label="Code from your app (or a recovery code), to turn it off"
                autocomplete="one-time-code"
                error={errorOf(failed, "mfa_off", "code")}
              />
              <FormError failed={failed} form="mfa_off" />
              <button type="submit" class="danger">Turn off</button>
            </form>
          </>
        )
        : (
          <form method="post" action="/account/mfa/start">
            <Csrf token={csrf} />
            <p>Off. Protect your account with codes from an authenticator app.</p>
            <FormError failed={failed} form="mfa_on" />
            <button type="submit">Turn on</button>
          </form>
        )}
    </section>
  );
}

/** The API-key section of the account page. */
export function apiKeySection(keys: ApiKeyRow[], role: string, csrf: string, failed?: FormErrors) {
  const scopes = API_KEY_SCOPES.filter((s) => !s.startsWith("admin:") || isAdminRole(role));
  return (
    <section aria-labelledby="keys">
      <h2 id="keys">API keys</h2>
      <div class="table">
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Prefix</th>
              <th>Scopes</th>
              <th>Expires</th>
              <th>Last used</th>
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>{k.scopes.join(", ")}</td>
                <td>
                  <When iso={k.expires_at} />
                </td>
                <td>
                  <When iso={k.last_used_at} empty="never" />
                </td>
                <td>
                  {k.revoked_at ? <span class="badge">revoked</span> : (
                    <div class="actions">
                      <form
                        method="post"
                        action={`/account/api-keys/${k.id}/rotate`}
                        data-confirm="Rotate this key? The old secret keeps working for the overlap period."
                      >
                        <Csrf token={csrf} />
                        <button type="submit" class="secondary">Rotate</button>
                      </form>
                      <form
                        method="post"
                        action={`/account/api-keys/${k.id}/revoke`}
                        data-confirm="Revoke this key? Anything using it stops working."
                      >
                        <Csrf token={csrf} />
                        <button type="submit" class="danger">Revoke</button>
                      </form>
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <FormError failed={failed} form="keys" />
      <h3>New key</h3>
      <form method="post" action="/account/api-keys">
        <Csrf token={csrf} />
        <Field name="name" id="f-key-name" label="Name" error={errorOf(failed, "key", "name")} />
        <fieldset>
          <legend>Scopes</legend>
          {scopes.map((scope) => (
            <div>
              <input type="checkbox" id={`scope-${scope}`} name={`scope:${scope}`} value="on" />
              {" "}
              <label for={`scope-${scope}`} class="inline-label">{scope}</label>
            </div>
          ))}
          {errorOf(failed, "key", "scopes") && (
            <p class="error" role="alert">{errorOf(failed, "key", "scopes")}</p>
          )}
        </fieldset>
        <Field
          name="expires_in_days"
          label="Expires after (days)"
          inputmode="numeric"
          value="90"
          error={errorOf(failed, "key", "expires_in_days")}
        />
        <FormError failed={failed} form="key" />
        <button type="submit">Create key</button>
      </form>
    </section>
  );
}

/** A secret shown once, with a copy button the script reveals. */
function ShownOnce(props: { id: string; label: string; value: string }) {
  return (
    <div class="field">
      <p id={`${props.id}-label`}>{props.label}</p>
      <p>
        <code id={props.id} class="secret" aria-labelledby={`${props.id}-label`}>
          {props.value}
        </code>
      </p>
      <button type="button" class="secondary" data-copy={props.id} hidden>Copy</button>
    </div>
  );
}

/** The routes of the two sections; `home` re-renders the account page with a form's errors. */
export function securityRoutes(
  kit: ConsoleKit,
  home: (c: Context<AppEnv>, failed?: FormErrors, status?: number) => Promise<Response>,
) {
  /** Runs a POST of these sections: the session, the form, the API, or the errors. */
  const post = (
    form: string,
    call: (
      c: Context<AppEnv>,
      f: Record<string, string>,
    ) => Promise<ApiAnswer<Record<string, unknown>>>,
    page: (c: Context<AppEnv>, body: Record<string, unknown>) => Promise<Response>,
  ) =>
  async (c: Context<AppEnv>) => {
    const session = sessionOr(c);
    if (session instanceof Response) return session;
    const answer = await call(c, await formOf(c, kit.services));
    if (answer.ok) return await page(c, answer.body ?? {});
    return stepUpRedirect(c, answer, "/account") ??
      await home(c, { form, errors: fieldErrors(answer) }, answer.status);
  };

  const codesPage = async (c: Context<AppEnv>, body: Record<string, unknown>) => {
    const codes = (body.recovery_codes as string[]) ?? [];
    return c.html(
      <Page title="Your recovery codes" ctx={await kit.pageContext(c)}>
        <p>
          Keep these somewhere safe. Each works once, when you cannot use your app. They are shown
          only now.
        </p>
        <ul class="codes" id="recovery-codes">{codes.map((code) => <li>{code}</li>)}</ul>
        <button type="button" class="secondary" data-copy="recovery-codes" hidden>Copy</button>
        <p>
          <a href="/account">Back to your account</a>
        </p>
      </Page>,
    );
  };

  const keyPage = async (c: Context<AppEnv>, body: Record<string, unknown>) => {
    const key = body.api_key as ApiKeyRow;
    return c.html(
      <Page title="Your new API key" ctx={await kit.pageContext(c)}>
        <ShownOnce
          id="api-key"
          label={`The secret of "${key.name}", shown only now:`}
          value={String(body.key)}
        />
        <p>Store it in your secret manager. It expires {key.expires_at}.</p>
        <p>
          <a href="/account">Back to your account</a>
        </p>
      </Page>,
    );
  };

  const factor = (value = "") =>
    /^\d{6,8}$/.test(value.trim()) ? { code: value.trim() } : { recovery_code: value.trim() };

  return new Hono<AppEnv>()
    .post(
      "/mfa/start",
      post("mfa_on", (c) => api(kit, c, "POST", "/api/v1/me/mfa/totp"), async (c, body) => {
        const ctx = await kit.pageContext(c);
        const uri = String(body.otpauth_uri);
        return c.html(
          <Page title="Turn on two-factor authentication" ctx={ctx}>
            <p>Scan this code with your authenticator app, or type the key below into it.</p>
            <div class="qr" role="img" aria-label="QR code of your authenticator key">
              {raw(renderSVG(uri))}
            </div>
            <ShownOnce id="totp-secret" label="Key" value={String(body.secret)} />
            <form method="post" action="/account/mfa/confirm">
              <Csrf token={ctx.csrf} />
              <Field
                name="code"
                label="Code from your app"
                autocomplete="one-time-code"
                inputmode="numeric"
                required
              />
              <button type="submit">Turn on</button>
            </form>
          </Page>,
        );
      }),
    )
    .post(
      "/mfa/confirm",
      post(
        "mfa_on",
        (c, f) => api(kit, c, "POST", "/api/v1/me/mfa/totp/verify", { code: f.code ?? "" }),
        codesPage,
      ),
    )
    .post(
      "/mfa/recovery-codes",
      post(
        "recovery",
        (c, f) => api(kit, c, "POST", "/api/v1/me/mfa/recovery-codes", factor(f.code)),
        codesPage,
      ),
    )
    .post(
      "/mfa/disable",
      post(
        "mfa_off",
        (c, f) => api(kit, c, "DELETE", "/api/v1/me/mfa", factor(f.code)),
        (c) => Promise.resolve(c.redirect("/account?done=mfa_off", 303)),
      ),
    )
    .post(
      "/api-keys",
      post("key", (c, f) => {
        const scopes = Object.keys(f).filter((n) => n.startsWith("scope:")).map((n) => n.slice(6));
        const days = Number(f.expires_in_days);
        return api(kit, c, "POST", "/api/v1/api-keys", {
          name: f.name ?? "",
          scopes,
          ...(f.expires_in_days?.trim()
            ? { expires_in_days: Number.isFinite(days) ? days : -1 }
            : {}),
        });
      }, keyPage),
    )
    .post(
      "/api-keys/:id/rotate",
      post(
        "keys",
        (c) =>
          api(
            kit,
            c,
            "POST",
            `/api/v1/api-keys/${encodeURIComponent(c.req.param("id") ?? "")}/rotate`,
            {},
          ),
        keyPage,
      ),
    )
    .post(
      "/api-keys/:id/revoke",
      post(
        "keys",
        (c) =>
          api(kit, c, "DELETE", `/api/v1/api-keys/${encodeURIComponent(c.req.param("id") ?? "")}`),
        (c) => Promise.resolve(c.redirect("/account?done=key_revoked", 303)),
      ),
    );
}
