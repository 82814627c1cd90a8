/**
 * The account page's sign-in providers: the identities linked to the account (`GET
 * /api/v1/me/identities`), unlinking one (`DELETE`, which needs a recent sign-in: the API's
 * refusal sends the browser to the reauthentication page, and it keeps the last way to sign
 * in), and the link a provider's sign-in left pending for this account's owner (`POST
 * /api/v1/me/identities/link` with the code sign_in_oauth.tsx kept in a cookie).
 * @module
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import { getCookie } from "hono/cookie";
import { OAUTH_FLOW_COOKIE } from "../services/oauth_flows.ts";
import type { IdentityView } from "../services/oauth_identities.ts";
import { callApi } from "./api.ts";
import { formOf } from "./context.ts";
import { FormError, type FormErrors, stepUpRedirect } from "./forms.tsx";
import type { ConsoleKit } from "./kit.ts";
import { Csrf } from "./layout.tsx";
import { api, fieldErrors } from "./pages.ts";
import { clearPendingLink, pendingLink } from "./sign_in_oauth.tsx";

/** The flash messages of the identity actions (`/account?done=<key>`). */
export const IDENTITY_DONE: Record<string, string> = {
  identity_linked: "The provider was linked: you can sign in with it.",
  identity_unlinked: "The provider was unlinked: it no longer signs you in.",
  link_dismissed: "Nothing was linked.",
};

/** A date as the page shows it (the day, in UTC). */
const day = (iso: string | null) => iso ? iso.slice(0, 10) : "never";

/**
 * The providers section of the account page: the linked identities with their unlink forms,
 * and the pending link of this browser (`pending`: the provider's display name), if any. Not
 * shown when no provider is enabled and none is linked.
 */
export function identitySection(
  identities: IdentityView[],
  csrf: string,
  options: { failed?: FormErrors; pending?: string; enabled: boolean },
) {
  const { failed, pending } = options;
  if (!options.enabled && identities.length === 0 && !pending) return null;
  return (
    <section aria-labelledby="identities">
      <h2 id="identities">Sign-in providers</h2>
      {pending && <PendingLink provider={pending} csrf={csrf} />}
      {identities.length === 0 ? <p>No provider is linked to your account.</p> : (
        <div class="table">
          <table>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Email at the provider</th>
                <th scope="col">Linked</th>
                <th scope="col">Last used</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {identities.map((i) => (
                <tr>
                  <td>{i.provider_name}</td>
                  <td>{i.email ?? "–"}</td>
                  <td>{day(i.created_at)}</td>
                  <td>{day(i.last_used_at)}</td>
                  <td>
                    <form
                      method="post"
                      action={`/account/identities/${i.id}/unlink`}
                      data-confirm={`Unlink ${i.provider_name}? It will no longer sign you in.`}
                    >
                      <Csrf token={csrf} />
                      <button type="submit" class="secondary">
                        {`Unlink ${i.provider_name}`}
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <FormError failed={failed} form="identities" />
    </section>
  );
}

/** The link a provider's sign-in left for this account: confirm it, or dismiss it. */
function PendingLink(props: { provider: string; csrf: string }) {
  return (
    <div class="flash ok" role="status">
      <p>
        {`You signed in with ${props.provider} using this account's email address. Link ` +
          `${props.provider} to this account, so it signs you in from now on?`}
      </p>
      <div class="actions">
        <form method="post" action="/account/identities/link" class="inline">
          <Csrf token={props.csrf} />
          <button type="submit">{`Link ${props.provider}`}</button>
        </form>
        <form method="post" action="/account/identities/link/dismiss" class="inline">
          <Csrf token={props.csrf} />
          <button type="submit" class="secondary">Not now</button>
        </form>
      </div>
    </div>
  );
}

/** The display name of this browser's pending link, if any. */
export function pendingLinkName(kit: ConsoleKit, c: Context<AppEnv>): string | undefined {
  const pending = pendingLink(c);
  if (!pending) return undefined;
  return kit.services.oauthFlows.list().find((p) => p.name === pending.provider)?.display_name ??
    pending.provider;
}

/** The routes of the providers section (under /account). */
export function identityRoutes(
  kit: ConsoleKit,
  home: (c: Context<AppEnv>, failed?: FormErrors, status?: number) => Promise<Response>,
) {
  const signedIn = (c: Context<AppEnv>) => c.get("consoleSession") !== undefined;
  const toSignIn = (c: Context<AppEnv>) => c.redirect("/account/sign-in?next=%2Faccount", 303);

  return new Hono<AppEnv>()
    .post("/identities/link", async (c) => {
      if (!signedIn(c)) return toSignIn(c);
      await formOf(c, kit.services);
      const pending = pendingLink(c);
      clearPendingLink(c);
      if (!pending) return c.redirect("/account", 303);
      // With this browser's flow cookie: a link code from another browser's flow is refused.
      const flow = getCookie(c, OAUTH_FLOW_COOKIE);
      const session = c.get("consoleSession")!;
      const answer = await callApi(kit.appFetch, c, "POST", "/api/v1/me/identities/link", {
        body: { link_code: pending.code },
        bearer: await session.accessToken(),
        ...(flow ? { cookie: `${OAUTH_FLOW_COOKIE}=${flow}` } : {}),
      });
      if (answer.ok) return c.redirect("/account?done=identity_linked", 303);
      return await home(c, { form: "identities", errors: fieldErrors(answer) }, answer.status);
    })
    .post("/identities/link/dismiss", async (c) => {
      if (!signedIn(c)) return toSignIn(c);
      await formOf(c, kit.services);
      clearPendingLink(c);
      return c.redirect("/account?done=link_dismissed", 303);
    })
    .post("/identities/:id/unlink", async (c) => {
      if (!signedIn(c)) return toSignIn(c);
      await formOf(c, kit.services);
      const id = encodeURIComponent(c.req.param("id") ?? "");
      const answer = await api(kit, c, "DELETE", `/api/v1/me/identities/${id}`);
      if (answer.ok) return c.redirect("/account?done=identity_unlinked", 303);
      return stepUpRedirect(c, answer, "/account") ??
        await home(c, { form: "identities", errors: fieldErrors(answer) }, answer.status);
    });
}
