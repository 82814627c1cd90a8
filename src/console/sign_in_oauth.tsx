/**
 * Signing in to the console with a provider: the start (the API's `/auth/oauth/:provider/start`,
 * coming back to the console's return page), the return page (the provider's answer is in the
 * fragment, which never reaches a server: the console script moves it into a form and posts
 * it), and the finish (the API's exchange of the code, forwarding the browser's flow cookie so
 * a code from another browser is refused). A `link_required` answer keeps the link code in a
 * short-lived cookie and asks the owner to sign in; the account page then offers the link.
 * @module
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../app_types.ts";
import {
  CONSOLE_OAUTH_RETURN_PATH,
  OAUTH_FLOW_COOKIE,
  OAUTH_FLOW_TTL_MS,
  OAUTH_LINK_CODE_TTL_MS,
} from "../services/oauth_flows.ts";
import { type ApiProblem, callApi } from "./api.ts";
import { formOf } from "./context.ts";
import type { ConsoleKit } from "./kit.ts";
import { Csrf, Page } from "./layout.tsx";
import {
  type CompletedLogin,
  methodsOf,
  problemText,
  safeNext,
  SecondFactorForm,
  SignInForm,
} from "./sign_in.tsx";

/** The provider and `next` of a sign-in this browser started from the console. */
export const CONSOLE_OAUTH_COOKIE = "__Host-citadel_console_oauth";
/** A link code waiting for its account's owner to sign in (provider and code). */
export const LINK_COOKIE = "__Host-citadel_link";

/** What the provider's answer says, for the sign-in page (by the fragment's `error`). */
const OAUTH_ERRORS: Record<string, string> = {
  account_exists: "An account already uses that email address, and the provider did not " +
    "confirm it is yours (or the account's address was never confirmed). Sign in with your " +
    "password instead.",
  email_required: "The provider did not share your email address, which an account needs. " +
    "Allow it at the provider, or sign in another way.",
  access_denied: "The sign-in with the provider was cancelled.",
  provider_error: "The provider's answer could not be verified. Try again, or sign in another " +
    "way.",
};

const NOT_STARTED = "That sign-in was not started from this browser, or took longer than ten " +
  "minutes. Start again.";

/** A provider name or link code as the API makes them (anything else is not ours). */
const TOKEN = /^[\w-]{1,128}$/;

/** The pending link of this browser, if any: its provider and code. */
export function pendingLink(c: Context<AppEnv>): { provider: string; code: string } | undefined {
  const [provider, code] = (getCookie(c, LINK_COOKIE) ?? "").split(":");
  return provider && code && TOKEN.test(provider) && TOKEN.test(code)
    ? { provider, code }
    : undefined;
}

/** Forgets the pending link. */
export function clearPendingLink(c: Context<AppEnv>): void {
  deleteCookie(c, LINK_COOKIE, { path: "/", secure: true });
}

/** The handlers of `/account/sign-in/oauth*`. */
export function oauthSignInHandlers(
  kit: ConsoleKit,
  open: (c: Context<AppEnv>, answer: CompletedLogin) => Promise<void>,
) {
  const { services } = kit;
  const providers = () => services.oauthFlows.list();
  const displayName = (name: string) =>
    providers().find((p) => p.name === name)?.display_name ?? name;
  const returnUrl = (c: Context<AppEnv>) =>
    (kit.publicUrl?.replace(/\/$/, "") ?? new URL(c.req.url).origin) + CONSOLE_OAUTH_RETURN_PATH;
  const cookieOptions = (maxAgeMs: number, sameSite: "Lax" | "Strict") => ({
    httpOnly: true,
    secure: true,
    sameSite,
    path: "/",
    maxAge: maxAgeMs / 1000,
  });

  const signInPage = async (
    c: Context<AppEnv>,
    next: string,
    words: { error?: string; notice?: string },
    status = 200,
  ) =>
    c.html(
      <SignInForm ctx={await kit.pageContext(c)} providers={providers()} next={next} {...words} />,
      status as 200,
    );

  return {
    /** `GET /account/sign-in/oauth/:provider?next=`: on to the provider. */
    async start(c: Context<AppEnv>) {
      const provider = c.req.param("provider") ?? "";
      const next = safeNext(c.req.query("next"));
      if (!TOKEN.test(provider)) return await signInPage(c, next, { error: NOT_STARTED }, 404);
      const flow = getCookie(c, OAUTH_FLOW_COOKIE);
      const answer = await callApi(
        kit.appFetch,
        c,
        "GET",
        `/api/v1/auth/oauth/${provider}/start?redirect_to=${encodeURIComponent(returnUrl(c))}` +
          (c.req.query("reauthenticate") === "1" ? "&prompt=login" : ""),
        flow ? { cookie: `${OAUTH_FLOW_COOKIE}=${flow}` } : {},
      );
      const location = answer.headers.get("location");
      if (answer.status !== 302 || !location) {
        return await signInPage(c, next, {
          error: problemText(answer.body as ApiProblem),
        }, answer.status);
      }
      for (const cookie of answer.headers.getSetCookie()) {
        if (cookie.startsWith(`${OAUTH_FLOW_COOKIE}=`)) {
          c.header("set-cookie", cookie, { append: true });
        }
      }
      setCookie(
        c,
        CONSOLE_OAUTH_COOKIE,
        `${provider}:${next}`,
        cookieOptions(
          OAUTH_FLOW_TTL_MS,
          "Lax",
        ),
      );
      c.header("cache-control", "no-store");
      return c.redirect(location, 303);
    },

    /** `GET /account/sign-in/oauth`: the script posts the fragment's answer. */
    async returnPage(c: Context<AppEnv>) {
      const ctx = await kit.pageContext(c);
      c.header("cache-control", "no-store");
      return c.html(
        <Page title="Finishing your sign-in" ctx={ctx}>
          <form method="post" action={CONSOLE_OAUTH_RETURN_PATH} data-oauth-return>
            <Csrf token={ctx.csrf} />
            <input type="hidden" name="code" value="" />
            <input type="hidden" name="error" value="" />
            <input type="hidden" name="link_code" value="" />
            <p data-oauth-waiting role="status" hidden>One moment…</p>
            <p data-oauth-script>
              Finishing a sign-in with a provider needs JavaScript.{" "}
              <a href="/account/sign-in">Sign in another way</a>.
            </p>
          </form>
        </Page>,
      );
    },

    /** `POST /account/sign-in/oauth` `{code | error, link_code}`: the exchange, or why not. */
    async finish(c: Context<AppEnv>) {
      const form = await formOf(c, services);
      const [provider = "", path] = (getCookie(c, CONSOLE_OAUTH_COOKIE) ?? "").split(":");
      const next = safeNext(path);
      deleteCookie(c, CONSOLE_OAUTH_COOKIE, { path: "/", secure: true });
      const flow = getCookie(c, OAUTH_FLOW_COOKIE);
      if (!TOKEN.test(provider) || !flow) {
        return await signInPage(c, next, { error: NOT_STARTED }, 400);
      }
      if (form.error === "link_required" && TOKEN.test(form.link_code ?? "")) {
        setCookie(
          c,
          LINK_COOKIE,
          `${provider}:${form.link_code}`,
          cookieOptions(
            OAUTH_LINK_CODE_TTL_MS,
            "Strict",
          ),
        );
        const name = displayName(provider);
        return await signInPage(c, next, {
          notice: `An account already uses your ${name} email address. Sign in to it here ` +
            `(within ten minutes), then link ${name} to it on your account page.`,
        });
      }
      if (form.error || !form.code) {
        const error = form.error && Object.hasOwn(OAUTH_ERRORS, form.error)
          ? OAUTH_ERRORS[form.error]
          : "The provider sent nothing back. Start again.";
        return await signInPage(c, next, { error }, 400);
      }
      const answer = await callApi(kit.appFetch, c, "POST", "/api/v1/auth/oauth/exchange", {
        body: { code: form.code },
        cookie: `${OAUTH_FLOW_COOKIE}=${flow}`,
      });
      if (answer.ok && answer.body.mfa_required === true) {
        return c.html(
          <SecondFactorForm
            ctx={await kit.pageContext(c)}
            mfaToken={String(answer.body.mfa_token)}
            next={next}
            methods={methodsOf(answer.body.methods)}
          />,
        );
      }
      if (answer.ok) {
        await open(c, answer);
        return c.redirect(next, 303);
      }
      return await signInPage(c, next, {
        error: problemText(answer.body as ApiProblem),
      }, answer.status);
    },
  };
}
