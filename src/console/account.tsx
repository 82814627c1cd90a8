/**
 * `/account`: the signed-in user's own page (profile, email, password, sessions, and the
 * two-factor and API-key sections of account_security.tsx), sign-up, and the reauthentication
 * page that step-up sends to. Every read and write is the API's own route.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { ApiAnswer } from "./api.ts";
import { type ApiKeyRow, apiKeySection, mfaSection, securityRoutes } from "./account_security.tsx";
import {
  PASSKEY_DONE,
  passkeyRoutes,
  type PasskeyRow,
  passkeySection,
  ReauthenticateWithPasskey,
} from "./account_passkeys.tsx";
import {
  errorOf,
  FormError,
  type FormErrors,
  type MeView,
  statusOf,
  stepUpRedirect,
} from "./forms.tsx";
import { failurePage, type SessionRow, SessionTable } from "./admin_parts.tsx";
import {
  IDENTITY_DONE,
  identityRoutes,
  identitySection,
  pendingLinkName,
} from "./account_identities.tsx";
import type { IdentityView } from "../services/oauth_identities.ts";
import type { ConsoleKit } from "./kit.ts";
import { Csrf, Field, type FieldErrors, Page } from "./layout.tsx";
import { api, fieldErrors, flashOf, sessionOr } from "./pages.ts";
import { formOf } from "./context.ts";
import { safeNext } from "./sign_in.tsx";
import { ProviderButtons } from "./provider_buttons.tsx";

const DONE: Record<string, string> = {
  profile: "Your name was saved.",
  password: "Your password was changed. Your other sessions were signed out.",
  email: "Check the new address: follow the link we sent to finish the change.",
  session: "That session was signed out.",
  reauthenticated: "Thank you. You can continue.",
  mfa_off: "Two-factor authentication is off.",
  key_revoked: "The API key was revoked.",
  ...PASSKEY_DONE,
  ...IDENTITY_DONE,
};

/** The account routes (under /account). */
export function accountRoutes(kit: ConsoleKit) {
  /** The whole account page, with one form's errors when it failed. */
  async function home(c: Context<AppEnv>, failed?: FormErrors, status = 200) {
    const [me, sessions, keys, passkeys, identities] = await Promise.all([
      api<{ user: MeView }>(kit, c, "GET", "/api/v1/me"),
      api<{ sessions: SessionRow[] }>(kit, c, "GET", "/api/v1/me/sessions"),
      api<{ api_keys: ApiKeyRow[] }>(kit, c, "GET", "/api/v1/api-keys"),
      api<{ passkeys: PasskeyRow[] }>(kit, c, "GET", "/api/v1/me/passkeys"),
      api<{ identities: IdentityView[] }>(kit, c, "GET", "/api/v1/me/identities"),
    ]);
    // Only a credential the API no longer takes means "sign in again"; a limit or a fault is
    // shown as it is (a redirect there would loop back here).
    if (me.status === 401) return c.redirect("/account/sign-in", 303);
    if (!me.ok) return await failurePage(kit, c, me, "/account");
    const user = me.body.user;
    const ctx = await kit.pageContext(c, flashOf(c, DONE));
    const csrf = ctx.csrf;
    return c.html(
      <Page title="Your account" ctx={ctx} passkeys>
        <section aria-labelledby="profile">
          <h2 id="profile">Profile</h2>
          <form method="post" action="/account/profile">
            <Csrf token={csrf} />
            <Field
              name="name"
              label="Name"
              autocomplete="name"
              value={user.name ?? ""}
              error={errorOf(failed, "profile", "name")}
            />
            <FormError failed={failed} form="profile" />
            <button type="submit">Save</button>
          </form>
        </section>
        <section aria-labelledby="email">
          <h2 id="email">Email</h2>
          <p>
            <span class="secret">{user.email}</span>{" "}
            <span class="badge">{user.email_verified ? "confirmed" : "not confirmed"}</span>
          </p>
          {!user.email_verified && (
            <p>
              <a href="/account/verify-email/request">Send me a confirmation link</a>
            </p>
          )}
          {user.has_password
            ? (
              <form method="post" action="/account/email">
                <Csrf token={csrf} />
                <Field
                  name="new_email"
                  label="New email"
                  type="email"
                  autocomplete="email"
                  error={errorOf(failed, "email", "new_email")}
                />
                <Field
                  name="password"
                  label="Current password"
                  type="password"
                  autocomplete="current-password"
                  error={errorOf(failed, "email", "password")}
                />
                <FormError failed={failed} form="email" />
                <button type="submit">Change email</button>
              </form>
            )
            : (
              <p>
                Changing your email address needs your password: set one first (see Password).
              </p>
            )}
        </section>
        <section aria-labelledby="password">
          <h2 id="password">Password</h2>
          {user.has_password
            ? (
              <form method="post" action="/account/password">
                <Csrf token={csrf} />
                <Field
                  name="current_password"
                  label="Current password"
                  type="password"
                  autocomplete="current-password"
                  error={errorOf(failed, "password", "current_password")}
                />
                <Field
                  name="new_password"
                  label="New password"
                  type="password"
                  autocomplete="new-password"
                  error={errorOf(failed, "password", "new_password")}
                />
                <FormError failed={failed} form="password" />
                <button type="submit">Change password</button>
              </form>
            )
            : <NoPassword />}
        </section>
        {mfaSection(user, csrf, failed)}
        {passkeySection(passkeys.ok ? passkeys.body.passkeys : [], csrf, {
          failed,
          totp: user.mfa_enabled,
        })}
        {identitySection(identities.ok ? identities.body.identities : [], csrf, {
          failed,
          // A link just tried (and refused) is no longer pending, though its cookie came along.
          pending: failed?.form === "identities" ? undefined : pendingLinkName(kit, c),
          enabled: kit.services.oauthFlows.list().length > 0,
        })}
        <section aria-labelledby="sessions">
          <h2 id="sessions">Sessions</h2>
          <SessionTable
            sessions={sessions.ok ? sessions.body.sessions : []}
            action={(s) =>
              s.current ? <span class="badge">this session</span> : (
                <form
                  method="post"
                  action={`/account/sessions/${s.id}/revoke`}
                  data-confirm="Sign out this session?"
                >
                  <Csrf token={csrf} />
                  <button type="submit" class="secondary">Sign out this session</button>
                </form>
              )}
          />
          <FormError failed={failed} form="sessions" />
        </section>
        {apiKeySection(keys.ok ? keys.body.api_keys : [], user.role, csrf, failed)}
      </Page>,
      status as 200,
    );
  }

  /** A form of the account page: the API call, then a flash or the page with errors. */
  const action = (
    form: string,
    call: (c: Context<AppEnv>, fields: Record<string, string>) => Promise<ApiAnswer<unknown>>,
    done: string,
  ) =>
  async (c: Context<AppEnv>) => {
    const session = sessionOr(c);
    if (session instanceof Response) return session;
    const fields = await formOf(c, kit.services);
    const answer = await call(c, fields);
    if (answer.ok) return c.redirect(`/account?done=${done}`, 303);
    return stepUpRedirect(c, answer, "/account") ??
      await home(c, { form, errors: fieldErrors(answer) }, answer.status);
  };

  return new Hono<AppEnv>()
    .get("/", (c) => {
      const session = sessionOr(c);
      return session instanceof Response ? session : home(c);
    })
    .post(
      "/profile",
      action(
        "profile",
        (c, f) => api(kit, c, "PATCH", "/api/v1/me", { name: f.name?.trim() || null }),
        "profile",
      ),
    )
    .post(
      "/email",
      action("email", (c, f) =>
        api(kit, c, "POST", "/api/v1/me/email", {
          new_email: f.new_email ?? "",
          password: f.password ?? "",
        }), "email"),
    )
    .post(
      "/password",
      action("password", (c, f) =>
        api(kit, c, "POST", "/api/v1/me/password", {
          current_password: f.current_password ?? "",
          new_password: f.new_password ?? "",
        }), "password"),
    )
    .post(
      "/sessions/:id/revoke",
      action(
        "sessions",
        (c) =>
          api(
            kit,
            c,
            "DELETE",
            `/api/v1/me/sessions/${encodeURIComponent(c.req.param("id") ?? "")}`,
          ),
        "session",
      ),
    )
    .route("/", securityRoutes(kit, home))
    .route("/", passkeyRoutes(kit, home))
    .route("/", identityRoutes(kit, home))
    .get("/reauthenticate", async (c) => {
      const session = sessionOr(c);
      if (session instanceof Response) return session;
      return c.html(await reauthenticatePage(c, safeNext(c.req.query("next"))));
    })
    .post("/reauthenticate", async (c) => {
      const session = sessionOr(c);
      if (session instanceof Response) return session;
      const f = await formOf(c, kit.services);
      const next = safeNext(f.next);
      const answer = await api(kit, c, "POST", "/api/v1/auth/reauthenticate", {
        password: f.password ?? "",
        ...(f.code?.trim() ? { code: f.code.trim() } : {}),
      });
      if (answer.ok) {
        return c.redirect(`${next}${next === "/account" ? "?done=reauthenticated" : ""}`, 303);
      }
      return c.html(await reauthenticatePage(c, next, fieldErrors(answer)), statusOf(answer));
    })
    .get("/sign-up", async (c) => c.html(await signUpPage(c)))
    .post("/sign-up", async (c) => {
      const f = await formOf(c, kit.services);
      const answer = await api(kit, c, "POST", "/api/v1/auth/register", {
        email: f.email ?? "",
        password: f.password ?? "",
        ...(f.name?.trim() ? { name: f.name.trim() } : {}),
      });
      if (answer.ok) {
        return c.html(
          <Page title="Check your inbox" ctx={await kit.pageContext(c)}>
            <p>
              We sent a message to the address you gave. Follow its link to confirm the address,
              then <a href="/account/sign-in">sign in</a>.
            </p>
          </Page>,
        );
      }
      return c.html(await signUpPage(c, fieldErrors(answer), f), statusOf(answer));
    });

  /** The password section of an account a provider created: how to set a password. */
  function NoPassword() {
    return (
      <p>
        Your account has no password: you sign in with a provider (or a passkey). To set a password,
        {" "}
        <a href="/account/forgot-password">ask for a reset link</a>; we email it to your address.
      </p>
    );
  }

  async function reauthenticatePage(c: Context<AppEnv>, next: string, errors?: FieldErrors) {
    const [ctx, me, passkeys] = await Promise.all([
      kit.pageContext(c),
      api<{ user: MeView }>(kit, c, "GET", "/api/v1/me"),
      api<{ passkeys: PasskeyRow[] }>(kit, c, "GET", "/api/v1/me/passkeys"),
    ]);
    const withPasskey = passkeys.ok && passkeys.body.passkeys.length > 0;
    // An account a provider created has no password: a new sign-in with the provider is fresh.
    const withProvider = me.ok && !me.body.user.has_password;
    // With passkeys and no TOTP, the API takes only the passkey: the password form would fail.
    const withPassword = !withProvider && (!withPasskey || (me.ok && me.body.user.mfa_enabled));
    return (
      <Page title="Confirm it is you" ctx={ctx} passkeys={withPasskey}>
        {withPasskey && (
          <>
            <p>This needs a recent sign-in. Confirm with one of your passkeys.</p>
            <ReauthenticateWithPasskey csrf={ctx.csrf} next={next} only={!withPassword} />
          </>
        )}
        {withPassword && (
          <PasswordStepUp csrf={ctx.csrf} next={next} errors={errors} other={withPasskey} />
        )}
        {withProvider && (
          <ProviderButtons
            providers={kit.services.oauthFlows.list()}
            next={next}
            reauthenticate
            heading={withPasskey ? "Or sign in again with" : "This needs a recent sign-in. " +
              "Sign in again with"}
          />
        )}
        {!withPassword && errors?._ && <p class="error" role="alert">{errors._}</p>}
      </Page>
    );
  }

  function PasswordStepUp(
    props: { csrf: string; next: string; errors?: FieldErrors; other: boolean },
  ) {
    const { errors, next } = props;
    return (
      <>
        <p>
          {props.other ? "Or enter" : "This needs a recent sign-in. Enter"}{" "}
          your password (and a code if two-factor authentication is on).
        </p>
        <form method="post" action="/account/reauthenticate">
          <Csrf token={props.csrf} />
          <input type="hidden" name="next" value={next} />
          <Field
            name="password"
            label="Password"
            type="password"
            autocomplete="current-password"
            error={errors?.password}
          />
          <Field
            name="code"
            label="Code from your authenticator app (if on)"
            autocomplete="one-time-code"
            inputmode="numeric"
            error={errors?.code}
          />
          {errors?._ && <p class="error" role="alert">{errors._}</p>}
          <button type="submit">Continue</button>
        </form>
      </>
    );
  }

  async function signUpPage(
    c: Context<AppEnv>,
    errors?: FieldErrors,
    values: Record<string, string> = {},
  ) {
    const ctx = await kit.pageContext(c);
    return (
      <Page title="Create an account" ctx={ctx}>
        <form method="post" action="/account/sign-up">
          <Csrf token={ctx.csrf} />
          <Field
            name="email"
            label="Email"
            type="email"
            autocomplete="email"
            value={values.email}
            error={errors?.email}
            required
          />
          <Field
            name="name"
            label="Name (optional)"
            autocomplete="name"
            value={values.name}
            error={errors?.name}
          />
          <Field
            name="password"
            label="Password"
            type="password"
            autocomplete="new-password"
            error={errors?.password}
            required
            hint="A long passphrase of a few unrelated words works well."
          />
          {errors?._ && <p class="error" role="alert">{errors._}</p>}
          <button type="submit">Create account</button>
        </form>
        <p>
          Already have an account? <a href="/account/sign-in">Sign in</a>
        </p>
      </Page>
    );
  }
}
