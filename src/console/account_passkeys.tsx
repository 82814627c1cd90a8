/**
 * The account page's passkeys: the list (name, created, last used, backed up), adding one
 * (a ceremony the console script runs against two JSON endpoints, which call
 * `/api/v1/me/passkeys/options` and `/api/v1/me/passkeys` as the console session), renaming
 * (`PATCH`) and removing (`DELETE`, which needs a recent sign-in: the API's refusal sends the
 * browser to the reauthentication page), and confirming a step-up with a passkey
 * (`/api/v1/auth/reauthenticate/options`, then `/reauthenticate` with `passkey_response`).
 * A new passkey's name is checked before its ceremony starts, by the API's rule, so no
 * authenticator creates a passkey the API then refuses to keep.
 * @module
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import { problem } from "../errors.ts";
import { reauthenticateHref } from "./admin_parts.tsx";
import { formOf, jsonOf } from "./context.ts";
import { errorOf, FormError, type FormErrors, stepUpRedirect } from "./forms.tsx";
import type { ConsoleKit } from "./kit.ts";
import { Csrf, Field } from "./layout.tsx";
import { api, fieldErrors } from "./pages.ts";
import {
  jsonEndpoint,
  PasskeyForm,
  PasskeyTable,
  PasskeyUnsupported,
  relay,
  textOf,
} from "./passkey_parts.tsx";
import { MAX_PASSKEYS_PER_USER, type PasskeyView } from "../services/passkeys.ts";
import { safeNext } from "./sign_in.tsx";

/** A passkey as `GET /api/v1/me/passkeys` lists it. */
export type PasskeyRow = PasskeyView;

/** The longest passkey name the API keeps (after trimming). */
export const MAX_PASSKEY_NAME = 100;

/**
 * Why the API would refuse `name` for a new passkey, or undefined: at most
 * {@linkcode MAX_PASSKEY_NAME} characters after trimming, no control or format characters (an
 * empty name is the API's default, "Passkey").
 */
export function passkeyNameError(name: string): string | undefined {
  const trimmed = name.trim();
  if (trimmed.length > MAX_PASSKEY_NAME) {
    return `The name can be at most ${MAX_PASSKEY_NAME} characters long.`;
  }
  if (/[\p{Cc}\p{Cf}]/u.test(trimmed)) {
    return "The name cannot contain control or formatting characters (such as line breaks or " +
      "text-direction marks).";
  }
  return undefined;
}

/** The flash messages of the passkey actions (`/account?done=<key>`). */
export const PASSKEY_DONE: Record<string, string> = {
  passkey_added: "Your passkey was added. You can sign in with it.",
  passkey_renamed: "The passkey was renamed.",
  passkey_removed: "The passkey was removed. Your other sessions were signed out.",
};

/**
 * The errors of a failed row action filed under the section (`passkeys`) when that row is not
 * on the page (removed in another tab, a malformed id), so they are shown.
 */
function sectionFailure(passkeys: PasskeyRow[], failed?: FormErrors): FormErrors | undefined {
  if (!failed?.form.startsWith("passkey-")) return failed;
  if (passkeys.some((p) => failed.form === `passkey-${p.id}`)) return failed;
  const fields = Object.entries(failed.errors).filter(([field]) => field !== "_")
    .map(([field, message]) => `${field} ${message}`);
  const text = [failed.errors._, ...fields].filter(Boolean).join("; ");
  return { form: "passkeys", errors: { _: text } };
}

/**
 * The passkey section of the account page; `totp` says whether the authenticator app is on
 * (without it, removing the last passkey leaves the password alone).
 */
export function passkeySection(
  passkeys: PasskeyRow[],
  csrf: string,
  options: { failed?: FormErrors; totp: boolean },
) {
  const failed = sectionFailure(passkeys, options.failed);
  const last = passkeys.length === 1 && !options.totp;
  const full = passkeys.length >= MAX_PASSKEYS_PER_USER;
  return (
    <section aria-labelledby="passkeys">
      <h2 id="passkeys">Passkeys</h2>
      <p>
        A passkey signs you in with your device's screen lock or a security key, without a password,
        and it cannot be phished. It is also your second factor after a password.
      </p>
      {passkeys.length === 0 ? <p>You have no passkeys yet.</p> : (
        <PasskeyTable
          passkeys={passkeys}
          actions={(p) => <PasskeyActions passkey={p} csrf={csrf} failed={failed} last={last} />}
        />
      )}
      <FormError failed={failed} form="passkeys" />
      {full ? <FullNote /> : <AddPasskey csrf={csrf} />}
    </section>
  );
}

/** Instead of the add form when the account holds as many passkeys as the API keeps. */
function FullNote() {
  return (
    <p>
      {`You have ${MAX_PASSKEYS_PER_USER} passkeys, the most an account can hold. To add another, ` +
        "remove one you no longer use."}
    </p>
  );
}

/** The form adding a passkey (its ceremony), and the note for browsers that cannot. */
function AddPasskey(props: { csrf: string }) {
  const { csrf } = props;
  return (
    <>
      <PasskeyForm
        ceremony="register"
        options="/account/passkeys/options"
        action="/account/passkeys"
        csrf={csrf}
        button="Add a passkey"
        reauthenticate={reauthenticateHref("/account")}
      >
        <Field
          name="name"
          id="f-passkey-name"
          label="Name of the new passkey"
          autocomplete="off"
          maxlength={MAX_PASSKEY_NAME}
          hint="Something that tells you where it is, such as the device's name."
        />
      </PasskeyForm>
      <PasskeyUnsupported text="Adding a passkey needs a browser that supports passkeys, with JavaScript on." />
    </>
  );
}

/**
 * A passkey's rename and remove forms; `last` when it is the account's only second factor
 * (the confirmation says the password alone signs in afterwards).
 */
function PasskeyActions(
  props: { passkey: PasskeyRow; csrf: string; failed?: FormErrors; last: boolean },
) {
  const { passkey, csrf, failed } = props;
  const form = `passkey-${passkey.id}`;
  const id = `f-passkey-${passkey.id}`;
  const error = errorOf(failed, form, "name") ?? errorOf(failed, form, "_");
  return (
    <div class="actions">
      <form method="post" action={`/account/passkeys/${passkey.id}/rename`} class="actions">
        <Csrf token={csrf} />
        <label for={id} class="visually-hidden">{`New name for ${passkey.name}`}</label>
        <input
          id={id}
          class="compact"
          name="name"
          value={passkey.name}
          autocomplete="off"
          maxlength={MAX_PASSKEY_NAME}
          aria-invalid={error ? "true" : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
        />
        <button type="submit" class="secondary">Rename</button>
        {error && <p class="error" id={`${id}-error`} role="alert">{error}</p>}
      </form>
      <form
        method="post"
        action={`/account/passkeys/${passkey.id}/remove`}
        data-confirm={`Remove the passkey "${passkey.name}"? It will no longer sign you in` +
          (props.last
            ? ", and as it is your only second factor, your password alone will then sign you in. "
            : ". ") +
          "Your other sessions are signed out."}
      >
        <Csrf token={csrf} />
        <button type="submit" class="danger">Remove</button>
      </form>
    </div>
  );
}

/** The routes of the passkey section and of the step-up with a passkey (under /account). */
export function passkeyRoutes(
  kit: ConsoleKit,
  home: (c: Context<AppEnv>, failed?: FormErrors, status?: number) => Promise<Response>,
) {
  /** A new passkey's name (`name` of the body), refused as the API would refuse it. */
  const checkedName = (body: Record<string, unknown>) => {
    const name = textOf(body, "name");
    const error = passkeyNameError(name);
    if (error) {
      throw problem("validation_failed", {
        detail: "The request has invalid fields",
        errors: [{ field: "name", message: error }],
      });
    }
    return name.trim();
  };

  /** A ceremony endpoint of a signed-in page: the session, then the checked JSON body. */
  const signedIn = async (c: Context<AppEnv>) => {
    if (!c.get("consoleSession")) {
      throw problem("unauthorized", { detail: "Your session has ended: sign in again" });
    }
    return await jsonOf(c, kit.services);
  };
  const passkeyPath = (c: Context<AppEnv>) =>
    `/api/v1/me/passkeys/${encodeURIComponent(c.req.param("id") ?? "")}`;

  /** A form of a passkey row: the API call, then the flash or the page with its error. */
  const rowAction = (
    method: "PATCH" | "DELETE",
    done: string,
    body: (fields: Record<string, string>) => unknown,
  ) =>
  async (c: Context<AppEnv>) => {
    if (!c.get("consoleSession")) return c.redirect("/account/sign-in?next=%2Faccount", 303);
    const fields = await formOf(c, kit.services);
    const answer = await api(kit, c, method, passkeyPath(c), body(fields));
    if (answer.ok) return c.redirect(`/account?done=${done}`, 303);
    return stepUpRedirect(c, answer, "/account") ??
      await home(
        c,
        { form: `passkey-${c.req.param("id")}`, errors: fieldErrors(answer) },
        answer.status,
      );
  };

  return new Hono<AppEnv>()
    .post(
      "/passkeys/options",
      jsonEndpoint(async (c) => {
        // The name first: the authenticator is never asked for a passkey that cannot be kept.
        checkedName(await signedIn(c));
        return relay(c, await api(kit, c, "POST", "/api/v1/me/passkeys/options"));
      }),
    )
    .post(
      "/passkeys",
      jsonEndpoint(async (c) => {
        const body = await signedIn(c);
        const name = checkedName(body);
        const answer = await api(kit, c, "POST", "/api/v1/me/passkeys", {
          ...(name ? { name } : {}),
          response: body.response,
        });
        return relay(c, answer, { location: "/account?done=passkey_added" });
      }),
    )
    .post(
      "/passkeys/:id/rename",
      rowAction("PATCH", "passkey_renamed", (f) => ({ name: f.name ?? "" })),
    )
    .post("/passkeys/:id/remove", rowAction("DELETE", "passkey_removed", () => undefined))
    .post(
      "/reauthenticate/passkey/options",
      jsonEndpoint(async (c) => {
        await signedIn(c);
        return relay(c, await api(kit, c, "POST", "/api/v1/auth/reauthenticate/options"));
      }),
    )
    .post(
      "/reauthenticate/passkey",
      jsonEndpoint(async (c) => {
        const body = await signedIn(c);
        const answer = await api(kit, c, "POST", "/api/v1/auth/reauthenticate", {
          passkey_response: body.response,
        });
        if (!answer.ok) return relay(c, answer);
        const next = safeNext(textOf(body, "next"));
        return c.json({ location: `${next}${next === "/account" ? "?done=reauthenticated" : ""}` });
      }),
    );
}

/**
 * The step-up page's passkey form (for an account with passkeys); `only` when the passkey is
 * the only way (no authenticator app): the note for browsers without passkeys says what to do.
 */
export function ReauthenticateWithPasskey(props: { csrf: string; next: string; only: boolean }) {
  return (
    <>
      <PasskeyForm
        ceremony="authenticate"
        options="/account/reauthenticate/passkey/options"
        action="/account/reauthenticate/passkey"
        csrf={props.csrf}
        hidden={{ next: props.next }}
        button="Confirm with a passkey"
      />
      <PasskeyUnsupported
        text={props.only
          ? "Your account confirms with a passkey only, which needs a browser that supports " +
            "passkeys, with JavaScript on. Use such a browser, or ask an administrator to reset " +
            "your second factor."
          : "Confirming with a passkey needs a browser that supports passkeys, with JavaScript on."}
      />
    </>
  );
}
