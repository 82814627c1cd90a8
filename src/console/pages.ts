/**
 * What the console's page modules share: the signed-in session or a redirect to sign in,
 * API calls as that session, and the flash message a redirect names by key (never by text,
 * so a link cannot put words on a page).
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { ConsoleSession } from "../services/console_sessions.ts";
import { type ApiAnswer, type ApiProblem, callApi } from "./api.ts";
import type { ConsoleKit } from "./kit.ts";
import type { FieldErrors, PageContext } from "./layout.tsx";

/** The session of a signed-in request, or the redirect to the sign-in page. */
export function sessionOr(c: Context<AppEnv>): ConsoleSession | Response {
  const session = c.get("consoleSession");
  if (session) return session;
  const next = new URL(c.req.url).pathname;
  return c.redirect(`/account/sign-in?next=${encodeURIComponent(next)}`, 303);
}

/** Calls the API as the request's console session. */
export async function api<T = Record<string, unknown>>(
  kit: ConsoleKit,
  c: Context<AppEnv>,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const session = c.get("consoleSession");
  return await callApi<T>(kit.appFetch, c, method, path, {
    body,
    bearer: session ? await session.accessToken() : undefined,
  });
}

/** A problem answer's field errors (`_` holds the message for the whole form). */
export function fieldErrors(answer: ApiAnswer<unknown>): FieldErrors {
  const problem = answer.body as ApiProblem | undefined;
  const errors: FieldErrors = {};
  for (const e of problem?.errors ?? []) errors[e.field] ??= e.message;
  errors._ = problem?.detail ?? "The request failed";
  return errors;
}

/** The flash of `?done=<key>` from `messages`, if the key is one of them. */
export function flashOf(
  c: Context<AppEnv>,
  messages: Record<string, string>,
): PageContext["flash"] {
  const key = c.req.query("done");
  return key && Object.hasOwn(messages, key) ? { kind: "ok", text: messages[key] } : undefined;
}
