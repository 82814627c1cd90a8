/**
 * The console is a client of citadel's own API, in process: every action a page offers is
 * the API route that does it, called with the console session's access token (or none), so
 * the same validation, guard, limits, audit and errors apply to a click as to a curl. The
 * request keeps the browser's client address (the runtime's connection info is handed
 * through) and forwarding headers.
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import { problem } from "../errors.ts";

/** What the API answered: its status, JSON body (or undefined) and headers. */
export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  ok: boolean;
  body: T;
  headers: Headers;
}

/** A problem+json answer's fields, as pages show them. */
export interface ApiProblem {
  code?: string;
  detail?: string;
  errors?: Array<{ field: string; message: string }>;
}

/** How the console reaches the API: the app's own fetch. */
export type AppFetch = (request: Request, env: unknown) => Response | Promise<Response>;

/**
 * The headers the inner request keeps: the host, the browser, the request id, and whatever the
 * runtime reads the client's address from (forwarding headers behind TRUSTED_PROXIES,
 * `cf-connecting-ip` on Cloudflare); each is judged by the inner request as by the outer one.
 */
const FORWARDED = [
  "host",
  "user-agent",
  "x-request-id",
  "x-forwarded-for",
  "forwarded",
  "x-forwarded-proto",
  "cf-connecting-ip",
];

/** Calls the API route `path` for the page being answered by `c`. */
export async function callApi<T = Record<string, unknown>>(
  appFetch: AppFetch,
  c: Context<AppEnv>,
  method: string,
  path: string,
  options: { body?: unknown; bearer?: string; cookie?: string } = {},
): Promise<ApiAnswer<T>> {
  const headers = new Headers();
  for (const name of FORWARDED) {
    const value = c.req.header(name);
    if (value !== undefined) headers.set(name, value);
  }
  if (options.cookie) {
    // Only the one cookie a call needs; the API's CSRF guard judges it as it judged the page's
    // form (a page with no-referrer posts `Origin: null` and `Sec-Fetch-Site: same-origin`).
    headers.set("cookie", options.cookie);
    for (const name of ["origin", "sec-fetch-site"]) {
      const value = c.req.header(name);
      if (value !== undefined) headers.set(name, value);
    }
  }
  if (options.bearer) headers.set("authorization", `Bearer ${options.bearer}`);
  if (options.body !== undefined) headers.set("content-type", "application/json");
  // A segment built from a request's parameter must not walk to another route: URL parsing
  // would resolve `..` (also written `%2e%2e`) before the API ever saw it.
  const segments = path.split("?")[0].split("/");
  if (segments.some((s) => /^(\.|%2e){1,2}$/i.test(s))) {
    throw problem("bad_request", { detail: "Malformed identifier" });
  }
  const url = new URL(path, c.req.url);
  const response = await appFetch(
    new Request(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    }),
    c.env,
  );
  const text = await response.text();
  let body: unknown = undefined;
  if (text && /json/.test(response.headers.get("content-type") ?? "")) body = JSON.parse(text);
  return { status: response.status, ok: response.ok, body: body as T, headers: response.headers };
}
