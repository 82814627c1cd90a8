/**
 * The live probe of `citadel check --url`: fetches the service with hostile and malformed
 * requests and records what it answered.
 */
import {
  classifyRedirection,
  gradeObservatory,
  type ObservatoryGrade,
  type ObservedResponse,
} from "./observatory.ts";

/** The Origin sent to find out whether the service trusts any origin it is shown. */
export const HOSTILE_ORIGIN = "https://attacker.citadel-check.invalid";
/** Files a web server must never hand out. */
export const EXPOSED_PATHS = ["/.env", "/.git/config"] as const;
const MAX_REDIRECTS = 5;
const MAX_BODY_CHARS = 64 * 1024;

/** What the live service answered to each probe. */
export interface LiveFacts {
  url: string;
  /** The response graded: `url` after following redirects. */
  response: ObservedResponse;
  observatory: ObservatoryGrade;
  /** Allow-Origin/-Credentials answered to the hostile Origin, on GET and on a preflight. */
  cors: Array<{ request: "GET" | "OPTIONS"; allowOrigin?: string; allowCredentials: boolean }>;
  exposed: Array<{ path: string; status: number; servesFile: boolean }>;
  malformedJson: Array<{ path: string; status: number; leaks: string[] }>;
  /** The URLs the plain-HTTP entry visited; undefined when nothing answers on plain HTTP. */
  plainHttp?: string[];
  banner: { server?: string; poweredBy?: string };
}

/** The live service could not be reached at all: the check cannot run. */
export class LiveProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LiveProbeError";
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch hides the real reason (refused, TLS, DNS) in `cause`.
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}

/** Options of {@linkcode probeLive}. */
export interface ProbeOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

type Fetch = typeof fetch;

async function observe(doFetch: Fetch, url: string, init: RequestInit, timeoutMs: number) {
  const response = await doFetch(url, {
    ...init,
    redirect: "manual",
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.text()).slice(0, MAX_BODY_CHARS);
  return { url, status: response.status, headers: response.headers, body } as ObservedResponse;
}

/** Follows redirects by hand so every hop is seen; returns the hops and the last answer. */
async function follow(doFetch: Fetch, url: string, init: RequestInit, timeoutMs: number) {
  const visited = [url];
  let response = await observe(doFetch, url, init, timeoutMs);
  for (let hop = 0; hop < MAX_REDIRECTS; hop++) {
    const location = response.headers.get("location");
    if (response.status < 300 || response.status > 399 || !location) break;
    const next = new URL(location, response.url).href;
    visited.push(next);
    response = await observe(doFetch, next, init, timeoutMs);
  }
  return { visited, response };
}

const LEAK_PATTERNS: Array<[string, RegExp]> = [
  ["a stack trace", /(^|\n|\\n)\s*at\s+\S.*(:\d+:\d+|\(native\))/],
  [
    "an exception class name",
    /\b(SyntaxError|TypeError|ReferenceError|RangeError|ZodError|SqliteError|LibsqlError)\b/,
  ],
  ["SQL", /\b(SELECT\s.+\sFROM|INSERT\s+INTO|SQLITE_[A-Z]+|syntax error at or near)\b/i],
  [
    "a server file path",
    /(\/home\/|\/usr\/|\/var\/|\/opt\/|\/srv\/|\/tmp\/|node_modules|file:\/\/|[A-Za-z]:\\\\)/,
  ],
  ["a source file name", /\.(ts|js|mjs|py|rb|php|go|java):\d+/],
];

/** What a response body gives away about the server's internals. */
export function internalLeaks(status: number, body: string): string[] {
  const leaks = LEAK_PATTERNS.filter(([, pattern]) => pattern.test(body)).map(([what]) => what);
  if (status >= 500) leaks.push(`status ${status} instead of 400`);
  return leaks;
}

function servesFile(path: string, status: number, body: string): boolean {
  if (status < 200 || status > 299) return false;
  return path === "/.env"
    ? /^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=/m.test(body)
    : /^\s*\[core\]|repositoryformatversion/m.test(body);
}

async function plainHttpEntry(doFetch: Fetch, url: URL, timeoutMs: number) {
  const http = new URL(url.href);
  http.protocol = "http:";
  http.port = "";
  try {
    return (await follow(doFetch, http.href, {}, timeoutMs)).visited;
  } catch {
    return undefined;
  }
}

/**
 * Probes a running service: grades the URL's headers, asks with a hostile Origin, asks
 * for `/.env` and `/.git/config`, posts malformed JSON, and tries the plain-HTTP entry.
 * Throws LiveProbeError when the URL does not answer.
 */
export async function probeLive(target: string, options: ProbeOptions = {}): Promise<LiveFacts> {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new LiveProbeError(`--url ${target} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new LiveProbeError(`--url must be http:// or https://, not ${url.protocol}`);
  }
  let main: Awaited<ReturnType<typeof follow>>;
  try {
    main = await follow(doFetch, url.href, { headers: { origin: HOSTILE_ORIGIN } }, timeoutMs);
  } catch (error) {
    throw new LiveProbeError(`${url.href} did not answer: ${describe(error)}`);
  }
  const base = new URL(main.response.url);
  const at = (path: string) => new URL(path, base).href;
  const preflight = await observe(doFetch, main.response.url, {
    method: "OPTIONS",
    headers: {
      origin: HOSTILE_ORIGIN,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  }, timeoutMs);
  const exposed = await Promise.all(EXPOSED_PATHS.map(async (path) => {
    const r = await observe(doFetch, at(path), {}, timeoutMs);
    return { path, status: r.status, servesFile: servesFile(path, r.status, r.body) };
  }));
  const jsonPaths = [...new Set([base.pathname, "/api/v1/auth/login"])];
  const malformedJson = await Promise.all(jsonPaths.map(async (path) => {
    const r = await observe(doFetch, at(path), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"email": "check@example.com", "password": ',
    }, timeoutMs);
    return { path, status: r.status, leaks: internalLeaks(r.status, r.body) };
  }));
  const plainHttp = url.protocol === "https:"
    ? await plainHttpEntry(doFetch, url, timeoutMs)
    : main.visited;
  const corsOf = (request: "GET" | "OPTIONS", r: ObservedResponse) => ({
    request,
    allowOrigin: r.headers.get("access-control-allow-origin") ?? undefined,
    allowCredentials: r.headers.get("access-control-allow-credentials")?.trim() === "true",
  });
  return {
    url: url.href,
    response: main.response,
    observatory: gradeObservatory({
      response: main.response,
      redirection: classifyRedirection(plainHttp),
      cors: { origin: HOSTILE_ORIGIN, headers: main.response.headers },
    }),
    cors: [corsOf("GET", main.response), corsOf("OPTIONS", preflight)],
    exposed,
    malformedJson,
    plainHttp,
    banner: {
      server: main.response.headers.get("server") ?? undefined,
      poweredBy: main.response.headers.get("x-powered-by") ?? undefined,
    },
  };
}
