/**
 * Signing in to the console and out of it: the password form, the second-factor form when
 * the account has a second factor (a code, and its passkey ceremony where it has passkeys),
 * the "Sign in with a passkey" ceremony, and sign-out. Every step is the API's own
 * (`/api/v1/auth/login`, `/mfa`, `/passkey`; the ceremonies' endpoints are in
 * sign_in_passkey.ts), so the login guard, rate limits, audit and alerts are the API's; a
 * completed login opens a console session on the API session it started.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../app_types.ts";
import type { Services } from "../services/container.ts";
import { DEVICE_COOKIE } from "../services/device_tokens.ts";
import { type ApiProblem, type AppFetch, callApi } from "./api.ts";
import { clearSessionCookie, setSessionCookie } from "./cookies.ts";
import { csrfToken, formOf } from "./context.ts";
import { Csrf, Field, Page, type PageContext } from "./layout.tsx";
import { PasskeyForm, PasskeyUnsupported } from "./passkey_parts.tsx";
import { ProviderButtons, type ProviderView } from "./provider_buttons.tsx";

/** Passes on the device credential the API set for this browser (login, unlock). */
export function copyDeviceCookie(c: Context<AppEnv>, apiHeaders: Headers): void {
  for (const cookie of apiHeaders.getSetCookie()) {
    if (cookie.startsWith(`${DEVICE_COOKIE}=`)) c.header("set-cookie", cookie, { append: true });
  }
}

/** Where a sign-in may send the browser afterwards: console paths only (no open redirect). */
export function safeNext(next: string | undefined): string {
  return next && /^\/(account|admin)(\/[A-Za-z0-9/_-]*)?$/.test(next) ? next : "/account";
}

const MESSAGES: Record<string, string> = {
  invalid_credentials: "The email or password is incorrect.",
  too_many_attempts: "Too many attempts. Wait a while, then try again.",
  email_not_verified: "Confirm your email address first: follow the link we sent you.",
  invalid_mfa_code: "That code is not valid. Try the current code from your app.",
  invalid_mfa_token: "The sign-in took too long. Start again.",
  rate_limited: "Too many requests. Wait a minute, then try again.",
  // One answer for every refusal (unknown, removed, suspended as a possible copy): the words
  // cover each, and what to do when the password alone cannot sign in.
  invalid_passkey: "That passkey was not accepted. If it was removed from your account, sign in " +
    "with your password; if it keeps being refused, ask an administrator to remove it.",
  passkeys_unavailable: "Passkeys are not set up on this server yet.",
  invalid_oauth_code: "That sign-in took too long or was already used. Start again.",
  registration_disabled: "No account uses that email address, and new accounts cannot be " +
    "created here. Ask an administrator.",
  provider_unavailable: "The sign-in provider cannot be reached right now. Try again later, " +
    "or sign in with your password.",
};

/** The second-step methods the sign-in pages know (what `mfa_required` may list). */
const METHODS = ["totp", "recovery_code", "passkey"];

/** The known methods of a list (`methods` of the API, or the form's copy of it). */
export function methodsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : String(value ?? "").split(",");
  const known = list.filter((m): m is string => METHODS.includes(m as string));
  // An answer without the list is a TOTP account (what the API said before passkeys).
  return known.length > 0 ? known : ["totp", "recovery_code"];
}

/** The errors a redirect to the sign-in page may name (`?error=<key>`: by key, never text). */
const SIGN_IN_ERRORS: Record<string, string> = { expired: MESSAGES.invalid_mfa_token };

/**
 * Where a second step that can no longer be answered (its `mfa_token` died) starts again: the
 * sign-in page, keeping `next`, with the message.
 */
export function signInAgainHref(next: string | undefined): string {
  return `/account/sign-in?next=${encodeURIComponent(safeNext(next))}&error=expired`;
}

/** The message a problem gets on a sign-in page. */
export function problemText(problem: ApiProblem | undefined): string {
  return (problem?.code && MESSAGES[problem.code]) ?? problem?.detail ??
    "Something went wrong. Try again.";
}

/**
 * The sign-in page: the password form, a passkey, and the enabled providers' buttons; `notice`
 * says why the user is here (a provider's sign-in that needs the account's owner to link it).
 */
export function SignInForm(
  props: {
    ctx: PageContext;
    next: string;
    providers: ProviderView[];
    email?: string;
    error?: string;
    notice?: string;
  },
) {
  return (
    <Page title="Sign in" ctx={props.ctx} passkeys>
      {props.error && <p class="flash error" role="alert">{props.error}</p>}
      {props.notice && <p class="flash ok" role="status">{props.notice}</p>}
      <form method="post" action="/account/sign-in">
        <Csrf token={props.ctx.csrf} />
        <input type="hidden" name="next" value={props.next} />
        <Field
          name="email"
          label="Email"
          type="email"
          autocomplete="username"
          value={props.email}
          required
        />
        <Field
          name="password"
          label="Password"
          type="password"
          autocomplete="current-password"
          required
        />
        <button type="submit">Sign in</button>
      </form>
      <h2>Or use a passkey</h2>
      <PasskeyForm
        ceremony="authenticate"
        options="/account/sign-in/passkey/options"
        action="/account/sign-in/passkey"
        csrf={props.ctx.csrf}
        hidden={{ next: props.next }}
        button="Sign in with a passkey"
        secondary
      />
      <PasskeyUnsupported text="Signing in with a passkey needs a browser that supports passkeys, with JavaScript on." />
      <ProviderButtons providers={props.providers} next={props.next} />
      <p>
        <a href="/account/forgot-password">Forgot your password?</a>
      </p>
    </Page>
  );
}

/** The second step of a sign-in: a passkey, a code, or both, as the account has them. */
export function SecondFactorForm(
  props: { ctx: PageContext; mfaToken: string; next: string; methods: string[]; error?: string },
) {
  const passkey = props.methods.includes("passkey");
  const code = props.methods.includes("totp") || props.methods.includes("recovery_code");
  return (
    <Page title="Two-factor authentication" ctx={props.ctx} passkeys={passkey}>
      {props.error && <p class="flash error" role="alert">{props.error}</p>}
      {passkey && (
        <>
          <p>
            {code ? "Confirm with your passkey, or enter a code." : "Confirm with your passkey."}
          </p>
          <PasskeyForm
            ceremony="authenticate"
            options="/account/sign-in/mfa/passkey/options"
            action="/account/sign-in/mfa/passkey"
            csrf={props.ctx.csrf}
            hidden={{ mfa_token: props.mfaToken, next: props.next }}
            button="Use a passkey"
          />
          <PasskeyUnsupported
            text={code
              ? "Using your passkey needs a browser that supports passkeys, with JavaScript on."
              : "Your account's only second factor is a passkey, so signing in needs a browser " +
                "that supports passkeys, with JavaScript on. Use such a browser, or ask an " +
                "administrator to reset your second factor."}
          />
        </>
      )}
      {code && <CodeForm {...props} />}
    </Page>
  );
}

function CodeForm(
  props: { ctx: PageContext; mfaToken: string; next: string; methods: string[] },
) {
  return (
    <>
      <form method="post" action="/account/sign-in/mfa">
        <Csrf token={props.ctx.csrf} />
        <input type="hidden" name="mfa_token" value={props.mfaToken} />
        <input type="hidden" name="next" value={props.next} />
        <input type="hidden" name="methods" value={props.methods.join(",")} />
        <Field
          name="code"
          label="Code from your authenticator app"
          autocomplete="one-time-code"
          inputmode="numeric"
        />
        <Field
          name="recovery_code"
          label="Or a recovery code"
          autocomplete="off"
          hint="Use a recovery code only if you cannot use your app."
        />
        <button type="submit">Continue</button>
      </form>
    </>
  );
}

/** What a completed login answered: its body (tokens, user) and headers (the device cookie). */
export interface CompletedLogin {
  body: Record<string, unknown>;
  headers: Headers;
}

/** The claims of an access token the API just issued (its own, so not verified again). */
function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split(".")[1];
  return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))).sid as string;
}

/** The sign-in routes' handlers. */
export function signInHandlers(
  services: Services,
  appFetch: AppFetch,
  pageContext: (c: Context<AppEnv>) => Promise<PageContext>,
) {
  const providers = () => services.oauthFlows.list();

  /** Ends the request's console session through the API's logout (its session row). */
  const endSession = async (c: Context<AppEnv>) => {
    const session = c.get("consoleSession");
    if (!session) return;
    await callApi(appFetch, c, "POST", "/api/v1/auth/logout", {
      bearer: await session.accessToken(),
    });
  };

  /** A login the API completed: the console session on its API session, the device cookie. */
  const open = async (c: Context<AppEnv>, answer: CompletedLogin) => {
    // A browser still holding another session (a stale tab, another account) keeps one only.
    await endSession(c);
    const accessToken = String(answer.body.access_token);
    const user = answer.body.user as { role: string };
    const token = await services.consoleSessions.open(sessionIdOf(accessToken), user.role);
    setSessionCookie(c, token);
    copyDeviceCookie(c, answer.headers);
  };

  /** A completed login, then onwards. */
  const signedIn = async (c: Context<AppEnv>, answer: CompletedLogin, next: string) => {
    await open(c, answer);
    return c.redirect(safeNext(next), 303);
  };

  return {
    async form(c: Context<AppEnv>) {
      if (c.get("consoleSession")) return c.redirect("/account", 303);
      const error = c.req.query("error");
      return c.html(
        <SignInForm
          ctx={await pageContext(c)}
          providers={providers()}
          next={safeNext(c.req.query("next"))}
          error={error && Object.hasOwn(SIGN_IN_ERRORS, error) ? SIGN_IN_ERRORS[error] : undefined}
        />,
      );
    },

    async password(c: Context<AppEnv>) {
      const form = await formOf(c, services);
      const next = safeNext(form.next);
      const answer = await callApi(appFetch, c, "POST", "/api/v1/auth/login", {
        body: {
          email: form.email ?? "",
          password: form.password ?? "",
          ...(getCookie(c, DEVICE_COOKIE) ? { device_token: getCookie(c, DEVICE_COOKIE) } : {}),
        },
      });
      if (answer.ok && answer.body.mfa_required === true) {
        return c.html(
          <SecondFactorForm
            ctx={await pageContext(c)}
            mfaToken={String(answer.body.mfa_token)}
            next={next}
            methods={methodsOf(answer.body.methods)}
          />,
        );
      }
      if (answer.ok) return await signedIn(c, answer, next);
      return c.html(
        <SignInForm
          ctx={await pageContext(c)}
          providers={providers()}
          next={next}
          email={form.email}
          error={problemText(answer.body as ApiProblem)}
        />,
        answer.status as 400,
      );
    },

    async secondFactor(c: Context<AppEnv>) {
      const form = await formOf(c, services);
      const next = safeNext(form.next);
      const factor = form.recovery_code?.trim()
        ? { recovery_code: form.recovery_code }
        : { code: form.code ?? "" };
      const answer = await callApi(appFetch, c, "POST", "/api/v1/auth/mfa", {
        body: { mfa_token: form.mfa_token ?? "", ...factor },
      });
      if (answer.ok) return await signedIn(c, answer, next);
      const problem = answer.body as ApiProblem;
      // A dead challenge cannot be retried: back to the password.
      if (problem?.code === "invalid_mfa_token") {
        return c.html(
          <SignInForm
            ctx={await pageContext(c)}
            providers={providers()}
            next={next}
            error={problemText(problem)}
          />,
          401,
        );
      }
      return c.html(
        <SecondFactorForm
          ctx={await pageContext(c)}
          mfaToken={form.mfa_token ?? ""}
          next={next}
          methods={methodsOf(form.methods)}
          error={problemText(problem)}
        />,
        answer.status as 400,
      );
    },

    async signOut(c: Context<AppEnv>) {
      const session = c.get("consoleSession");
      // Without a live session there is nothing to end (and no token to check): just forget it.
      if (session) {
        await formOf(c, services);
        await endSession(c);
      }
      clearSessionCookie(c);
      return c.redirect("/account/sign-in", 303);
    },

    csrfToken: (c: Context<AppEnv>) => csrfToken(c, services),

    /** Opens the console session of a login the API completed (the passkey ceremonies). */
    open,
  };
}
