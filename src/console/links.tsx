/**
 * The pages the email links open (`/account/verify-email`, `/reset-password`,
 * `/confirm-email-change`, `/unlock`, with `#token=` in the fragment) and the two pages that
 * ask for a link (`/account/forgot-password`, `/account/verify-email/request`). A link page's
 * form has a visible "Code from the email" field that the console script fills from the
 * fragment (stripping it from the address bar), so without JavaScript the reader pastes the
 * code the message's text part carries. Every POST is the API route that does the work,
 * called in process; a success redirects (303) to the page's `?done=` view, so a reload
 * does not spend the link again.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../app_types.ts";
import type { ApiAnswer, ApiProblem } from "./api.ts";
import { formOf } from "./context.ts";
import { clearSessionCookie } from "./cookies.ts";
import type { ConsoleKit } from "./kit.ts";
import { Csrf, Field, type FieldErrors, Page, type PageContext } from "./layout.tsx";
import { api, fieldErrors } from "./pages.ts";
import { copyDeviceCookie, problemText } from "./sign_in.tsx";

/** A page an email link opens: what it says, the API route it posts to, what it says after. */
interface LinkFlow {
  page: "verify-email" | "reset-password" | "confirm-email-change" | "unlock";
  title: string;
  intro: string;
  submit: string;
  api: string;
  /** The reset page also asks for the new password. */
  newPassword?: boolean;
  done: { title: string; text: string };
  /** Where a new link comes from, for a link that is unknown, expired or used. */
  again: { href: string; label: string };
  /** What a success adds to the console's answer. */
  onSuccess?: (c: Context<AppEnv>, answer: ApiAnswer) => void;
}

/** A page that asks for a message with a link. */
interface RequestFlow {
  page: "forgot-password" | "verify-email/request";
  title: string;
  intro: string;
  submit: string;
  api: string;
}

const FLOWS: LinkFlow[] = [{
  page: "verify-email",
  title: "Confirm your email address",
  intro: "Confirm that this email address is yours.",
  submit: "Confirm my address",
  api: "/api/v1/auth/verify-email",
  done: { title: "Email address confirmed", text: "Your email address is confirmed." },
  again: { href: "/account/verify-email/request", label: "Send me a new verification link" },
}, {
  page: "reset-password",
  title: "Choose a new password",
  intro: "Choose the password you will sign in with. Every signed-in session of the account ends.",
  submit: "Set the new password",
  api: "/api/v1/auth/password-reset",
  newPassword: true,
  done: {
    title: "Password changed",
    text: "Your password was changed and every session was signed out. Sign in with the new one.",
  },
  again: { href: "/account/forgot-password", label: "Send me a new reset link" },
  // The API ended every session of the account, this browser's console session too.
  onSuccess: (c) => c.get("consoleSession") && clearSessionCookie(c),
}, {
  page: "confirm-email-change",
  title: "Confirm your new email address",
  intro: "Confirm that your account moves to this email address.",
  submit: "Confirm the new address",
  api: "/api/v1/auth/confirm-email-change",
  done: {
    title: "Email address changed",
    text: "Your account now uses the new address: sign in with it from now on.",
  },
  again: { href: "/account", label: "Ask for the change again from your account" },
}, {
  page: "unlock",
  title: "Unlock sign-in on this browser",
  intro: "Sign-in attempts on your account are being blocked. This lets this browser sign in " +
    "while the attack goes on; you still need your password.",
  submit: "Unlock this browser",
  api: "/api/v1/auth/unlock",
  done: {
    title: "This browser is unlocked",
    text: "This browser can now sign in while the attack goes on. Sign in with your password.",
  },
  again: { href: "/account/sign-in", label: "Sign in again (a blocked sign-in sends a new link)" },
  // The device credential the API set for this browser.
  onSuccess: (c, answer) => {
    copyDeviceCookie(c, answer.headers);
  },
}];

const REQUESTS: RequestFlow[] = [{
  page: "forgot-password",
  title: "Reset your password",
  intro: "Enter the email address of your account: we send it a link to choose a new password.",
  submit: "Send me a reset link",
  api: "/api/v1/auth/password-reset/request",
}, {
  page: "verify-email/request",
  title: "Send a verification link",
  intro: "Enter the email address of your account: we send it a link to confirm it.",
  submit: "Send me a verification link",
  api: "/api/v1/auth/verify-email/request",
}];

const NO_EMAIL = "This server cannot send email (it is not configured), so its email links do " +
  "not work. Ask your administrator.";

/** What a refused API call says at the top of the page (field errors go next to fields). */
function alertOf(problem: ApiProblem | undefined, again?: LinkFlow["again"]): Child {
  switch (problem?.code) {
    case "invalid_token":
      return (
        <>
          This link is unknown, expired or already used: ask for a new one.{" "}
          {again && <a href={again.href}>{again.label}</a>}
        </>
      );
    case "email_not_configured":
      return NO_EMAIL;
    case "email_taken":
      return "Another account took this address in the meantime, so your address did not change.";
    default:
      return problemText(problem);
  }
}

/** The code field: visible and labelled, filled by the script from the link's fragment. */
function CodeField(props: { value?: string; error?: string }) {
  const described = ["f-token-hint", props.error ? "f-token-error" : ""].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for="f-token">Code from the email</label>
      <input
        id="f-token"
        name="token"
        type="text"
        value={props.value}
        required
        autocomplete="off"
        autocapitalize="off"
        spellcheck={false}
        data-from-fragment=""
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={described}
      />
      <p class="hint" id="f-token-hint">
        Filled in from the link. If it is empty, paste the code the message gives.
      </p>
      {props.error && <p class="error" id="f-token-error" role="alert">{props.error}</p>}
    </div>
  );
}

function Alert(props: { children?: Child }) {
  return <p class="flash error" role="alert">{props.children}</p>;
}

function LinkForm(
  props: { flow: LinkFlow; ctx: PageContext; token?: string; errors?: FieldErrors; alert?: Child },
) {
  const { flow, errors } = props;
  return (
    <Page title={flow.title} ctx={props.ctx}>
      {props.alert && <Alert>{props.alert}</Alert>}
      <p>{flow.intro}</p>
      <form method="post" action={`/account/${flow.page}`}>
        <Csrf token={props.ctx.csrf} />
        <CodeField value={props.token} error={errors?.token} />
        {flow.newPassword && (
          <Field
            name="new_password"
            label="New password"
            type="password"
            autocomplete="new-password"
            required
            error={errors?.new_password}
          />
        )}
        <button type="submit">{flow.submit}</button>
      </form>
    </Page>
  );
}

function RequestForm(
  props: {
    flow: RequestFlow;
    ctx: PageContext;
    email?: string;
    errors?: FieldErrors;
    alert?: Child;
  },
) {
  return (
    <Page title={props.flow.title} ctx={props.ctx}>
      {props.alert && <Alert>{props.alert}</Alert>}
      <p>{props.flow.intro}</p>
      <form method="post" action={`/account/${props.flow.page}`}>
        <Csrf token={props.ctx.csrf} />
        <Field
          name="email"
          label="Email"
          type="email"
          autocomplete="email"
          value={props.email}
          required
          error={props.errors?.email}
        />
        <button type="submit">{props.flow.submit}</button>
      </form>
    </Page>
  );
}

function Done(props: { ctx: PageContext; title: string; children?: Child }) {
  const signedIn = props.ctx.user !== undefined;
  return (
    <Page title={props.title} ctx={props.ctx}>
      <p role="status">{props.children}</p>
      <p>
        <a href={signedIn ? "/account" : "/account/sign-in"}>
          {signedIn ? "Go to your account" : "Sign in"}
        </a>
      </p>
    </Page>
  );
}

/** The errors of a 422 for the fields a form shows, or undefined when it shows none of them. */
function shownErrors(answer: ApiAnswer, fields: string[]): FieldErrors | undefined {
  if (answer.status !== 422) return undefined;
  const errors = fieldErrors(answer);
  return fields.some((f) => errors[f] !== undefined) ? errors : undefined;
}

/** The link pages' and the link requests' routes, mounted under `/account`. */
export function linkRoutes(kit: ConsoleKit) {
  const app = new Hono<AppEnv>();
  for (const flow of FLOWS) {
    app.get(`/${flow.page}`, async (c) => {
      const ctx = await kit.pageContext(c);
      if (c.req.query("done") === "1") {
        return c.html(<Done ctx={ctx} title={flow.done.title}>{flow.done.text}</Done>);
      }
      return c.html(<LinkForm flow={flow} ctx={ctx} />);
    });
    app.post(`/${flow.page}`, async (c) => {
      const form = await formOf(c, kit.services);
      const token = form.token ?? "";
      const body = flow.newPassword ? { token, new_password: form.new_password ?? "" } : { token };
      const answer = await api(kit, c, "POST", flow.api, body);
      if (answer.ok) {
        flow.onSuccess?.(c, answer);
        return c.redirect(`/account/${flow.page}?done=1`, 303);
      }
      const errors = shownErrors(answer, ["token", "new_password"]);
      return c.html(
        <LinkForm
          flow={flow}
          ctx={await kit.pageContext(c)}
          // A dead link's code is no use again; a refused password keeps the link usable.
          token={answer.status === 400 ? undefined : token}
          errors={errors}
          alert={errors ? undefined : alertOf(answer.body as ApiProblem, flow.again)}
        />,
        answer.status as 400,
      );
    });
  }
  for (const flow of REQUESTS) {
    app.get(`/${flow.page}`, async (c) => {
      const ctx = await kit.pageContext(c);
      if (c.req.query("done") === "1") {
        return c.html(
          <Done ctx={ctx} title="Check your inbox">
            If an account uses this address, a message is on its way to it. Follow its link, or
            paste its code on the page the link opens. Nothing after a few minutes? Look in the spam
            folder, or ask again.
          </Done>,
        );
      }
      return c.html(<RequestForm flow={flow} ctx={ctx} />);
    });
    app.post(`/${flow.page}`, async (c) => {
      const form = await formOf(c, kit.services);
      const email = form.email ?? "";
      const answer = await api(kit, c, "POST", flow.api, { email });
      // 202 whether or not an account uses the address: the same redirect for every address.
      if (answer.status === 202) return c.redirect(`/account/${flow.page}?done=1`, 303);
      const errors = shownErrors(answer, ["email"]);
      return c.html(
        <RequestForm
          flow={flow}
          ctx={await kit.pageContext(c)}
          email={email}
          errors={errors}
          alert={errors ? undefined : alertOf(answer.body as ApiProblem)}
        />,
        answer.status as 400,
      );
    });
  }
  return app;
}
