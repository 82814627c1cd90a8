/**
 * A test app served on a real loopback socket with a small JSON client: each call is a
 * real HTTP request. The app trusts the loopback peer as a proxy, so a call can name the
 * client address it comes from (X-Forwarded-For), as a proxy in front of citadel would.
 */
import { buildTestApp, type TestApp } from "./helpers.ts";
import { serveOnLoopback } from "./loopback.ts";

/** How one call authenticates and where it comes from. */
export interface CallOptions {
  /** An access token or an API key, sent as `Authorization: Bearer`. */
  bearer?: string;
  body?: unknown;
  /** The client address, forwarded by the trusted loopback peer. */
  ip?: string;
  headers?: Record<string, string>;
}

/** A parsed JSON answer; tests read its fields freely, as a client would. */
// deno-lint-ignore no-explicit-any
export type JsonBody = any;

/** A served test app and its client; dispose to stop both. */
export interface LoopbackApp extends AsyncDisposable {
  t: TestApp;
  url: string;
  call(method: string, path: string, options?: CallOptions): Promise<Response>;
  /** `call`, then the parsed JSON body (or null for an empty body) with the status. */
  json(
    method: string,
    path: string,
    options?: CallOptions,
  ): Promise<{ status: number; headers: Headers; body: JsonBody }>;
}

/** Builds a test app over a real migrated database and serves it on 127.0.0.1. */
export async function loopbackApp(
  env: Record<string, string> = {},
  options: Parameters<typeof buildTestApp>[1] = {},
): Promise<LoopbackApp> {
  const t = await buildTestApp({ TRUSTED_PROXIES: "loopback", ...env }, options);
  const server = serveOnLoopback(t.app);
  const call = (method: string, path: string, o: CallOptions = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.bearer) headers.authorization = `Bearer ${o.bearer}`;
    if (o.ip) headers["x-forwarded-for"] = o.ip;
    if (o.body !== undefined) headers["content-type"] = "application/json";
    return fetch(`${server.url}${path}`, {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
  };
  return {
    t,
    url: server.url,
    call,
    async json(method, path, o) {
      const res = await call(method, path, o);
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
    },
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await t.close();
    },
  };
}
