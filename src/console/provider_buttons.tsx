/**
 * The "Sign in with ..." buttons of the sign-in page: one link per enabled provider to the
 * console's start of its flow (a link, not a form: the page's `form-action 'self'` would stop
 * a form whose answer redirects to the provider).
 */

/** A provider as `GET /api/v1/auth/oauth/providers` lists it. */
export interface ProviderView {
  name: string;
  display_name: string;
}

/**
 * Where the console starts a sign-in with `provider`, coming back to `next`; `reauthenticate`
 * makes the provider sign the user in again (a step-up), not reuse its own session.
 */
export function oauthStartHref(provider: string, next: string, reauthenticate = false): string {
  return `/account/sign-in/oauth/${encodeURIComponent(provider)}?next=${encodeURIComponent(next)}${
    reauthenticate ? "&reauthenticate=1" : ""
  }`;
}

/** One button per provider under `heading` (nothing without providers). */
export function ProviderButtons(
  props: { providers: ProviderView[]; next: string; heading?: string; reauthenticate?: boolean },
) {
  if (props.providers.length === 0) return null;
  return (
    <>
      <h2>{props.heading ?? "Or sign in with"}</h2>
      <p class="actions">
        {props.providers.map((p) => (
          <a
            class="button secondary"
            href={oauthStartHref(p.name, props.next, props.reauthenticate)}
          >
            {`Sign in with ${p.display_name}`}
          </a>
        ))}
      </p>
    </>
  );
}
