/**
 * Signing in to the console with a passkey, as JSON endpoints for the console script's
 * ceremony (the browser holds no API token, so the console asks the API in process): a
 * passwordless sign-in (`/api/v1/auth/passkey/options` with `{}`: any discoverable passkey,
 * then `/api/v1/auth/passkey`), and the passkey as the second step of a password sign-in
 * (`/passkey/options` with the `mfa_token`, then `/api/v1/auth/mfa`). A completed sign-in
 * opens the console session exactly as the password form does and answers only where to go
 * next: the API's tokens never reach the browser. A second step whose `mfa_token` died cannot
 * be retried: its refusal also answers `location`, the sign-in page to start again from.
 * @module
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../app_types.ts";
import type { Services } from "../services/container.ts";
import { DEVICE_COOKIE } from "../services/device_tokens.ts";
import { type ApiAnswer, type ApiProblem, type AppFetch, callApi } from "./api.ts";
import { jsonOf } from "./context.ts";
import { jsonEndpoint, relay, textOf } from "./passkey_parts.tsx";
import { type CompletedLogin, problemText, safeNext, signInAgainHref } from "./sign_in.tsx";

/** The handlers of `/account/sign-in/passkey*` and `/account/sign-in/mfa/passkey*`. */
export function passkeySignInHandlers(
  services: Services,
  appFetch: AppFetch,
  open: (c: Context<AppEnv>, answer: CompletedLogin) => Promise<void>,
) {
  const call = (c: Context<AppEnv>, path: string, body: unknown) =>
    callApi(appFetch, c, "POST", path, { body });

  /**
   * The API's answer; a refusal also worded for the sign-in page (`message`), and for a dead
   * `mfa_token` where to start again (`location`, keeping `next`).
   */
  const worded = (c: Context<AppEnv>, answer: ApiAnswer, next?: string) => {
    if (answer.ok) return relay(c, answer);
    const problem = answer.body as ApiProblem | undefined;
    const restart = problem?.code === "invalid_mfa_token"
      ? { location: signInAgainHref(next) }
      : {};
    return relay(c, {
      ...answer,
      body: { ...problem, message: problemText(problem), ...restart },
    });
  };

  /** A sign-in the API completed (only where to go next is answered), or its refusal. */
  const finish = async (c: Context<AppEnv>, answer: ApiAnswer, next: string) => {
    if (!answer.ok) return worded(c, answer, next);
    await open(c, answer);
    return c.json({ location: safeNext(next) });
  };

  return {
    /** Options for any discoverable passkey of this site. */
    options: jsonEndpoint(async (c) => {
      await jsonOf(c, services);
      return worded(c, await call(c, "/api/v1/auth/passkey/options", {}));
    }),

    /** `{response, next?}`: the passwordless sign-in (with this browser's device credential). */
    signIn: jsonEndpoint(async (c) => {
      const body = await jsonOf(c, services);
      const device = getCookie(c, DEVICE_COOKIE);
      const answer = await call(c, "/api/v1/auth/passkey", {
        response: body.response,
        ...(device ? { device_token: device } : {}),
      });
      return await finish(c, answer, textOf(body, "next"));
    }),

    /** `{mfa_token, next?}`: options for the passkeys of the password sign-in waiting for its step. */
    mfaOptions: jsonEndpoint(async (c) => {
      const body = await jsonOf(c, services);
      const answer = await call(c, "/api/v1/auth/passkey/options", {
        mfa_token: textOf(body, "mfa_token"),
      });
      return worded(c, answer, textOf(body, "next"));
    }),

    /** `{mfa_token, response, next?}`: the second step answered with a passkey. */
    mfa: jsonEndpoint(async (c) => {
      const body = await jsonOf(c, services);
      const answer = await call(c, "/api/v1/auth/mfa", {
        mfa_token: textOf(body, "mfa_token"),
        passkey_response: body.response,
      });
      return await finish(c, answer, textOf(body, "next"));
    }),
  };
}
