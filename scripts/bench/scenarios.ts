/**
 * What `deno task bench` measures: one entry per table row, each building its load for
 * the next round (fresh access token, fresh refresh tokens) against one server.
 */
import { fetchLoop, type LoadResult, type LoadSpec } from "./load.ts";
import type { BenchProcess } from "./process.ts";
import { BENCH_EMAIL, BENCH_PASSWORD, benchEmail, login, refreshTokens } from "./seed.ts";

/** One measured scenario. */
export interface Scenario {
  name: string;
  server: BenchProcess;
  spec: () => Promise<LoadSpec>;
  note?: string;
}

/** The shape of every load run. */
export interface LoadShape {
  seconds: number;
  connections: number;
  loadCpu?: string;
  /** Scratch directory for the refresh token file. */
  dir: string;
}

/** Users 1..LOGIN_USERS take turns in the login scenarios; one more owns the refresh chains. */
export const LOGIN_USERS = 64;
export const REFRESH_USER = LOGIN_USERS + 1;
const REFRESH_CONNECTIONS = 16;
const here = (path: string) => new URL(path, import.meta.url).pathname;

/** `GET url` with fixed headers. */
export function getScenario(
  name: string,
  server: BenchProcess,
  path: string,
  shape: LoadShape,
  headers?: () => Promise<Record<string, string>>,
  note?: string,
): Scenario {
  return {
    name,
    server,
    note,
    spec: async () => ({
      url: `${server.url}${path}`,
      seconds: shape.seconds,
      connections: shape.connections,
      cpu: shape.loadCpu,
      headers: headers ? await headers() : undefined,
    }),
  };
}

/** POST /api/v1/auth/login, the users in turn, so no login-guard pair has two attempts in flight. */
export function loginScenario(
  name: string,
  server: BenchProcess,
  connections: number,
  shape: LoadShape,
  note: string,
): Scenario {
  const url = `${server.url}/api/v1/auth/login`;
  const spec = (): LoadSpec => ({
    url,
    seconds: shape.seconds,
    connections,
    cpu: shape.loadCpu,
    lua: {
      script: here("lua/login.lua"),
      env: { BENCH_USERS: String(LOGIN_USERS), BENCH_EMAIL, BENCH_PASSWORD },
    },
    fallback: (s) => {
      let n = 0;
      return fetchLoop(s, () => {
        n = n % LOGIN_USERS + 1;
        return postJson(url, { email: benchEmail(n), password: BENCH_PASSWORD });
      });
    },
  });
  return { name, server, note, spec: () => Promise.resolve(spec()) };
}

/**
 * POST /api/v1/auth/refresh where every request presents a never-used token: each
 * connection starts from its own freshly issued token (two per connection are issued
 * before every round) and continues with the successor each response returns.
 */
export function refreshScenario(name: string, server: BenchProcess, shape: LoadShape): Scenario {
  const url = `${server.url}/api/v1/auth/refresh`;
  const file = `${shape.dir}/refresh_tokens.txt`;
  return {
    name,
    server,
    note: `${REFRESH_CONNECTIONS} connections, every token used once`,
    spec: async () => {
      const tokens = await refreshTokens(server.url, REFRESH_USER, REFRESH_CONNECTIONS * 2);
      await Deno.writeTextFile(file, tokens.join("\n") + "\n");
      return {
        url,
        seconds: shape.seconds,
        connections: REFRESH_CONNECTIONS,
        cpu: shape.loadCpu,
        lua: {
          script: here("lua/refresh.lua"),
          env: { BENCH_REFRESH_TOKENS: file, BENCH_THREADS: "1" },
        },
        fallback: (s) => refreshByFetch(s, tokens),
      };
    },
  };
}

/** A bearer header with a fresh access token of user 1 (tokens live 15 minutes). */
export function bearerOf(server: BenchProcess): () => Promise<Record<string, string>> {
  return async () => ({ authorization: `Bearer ${(await login(server.url, 1)).access_token}` });
}

function postJson(url: string, body: unknown): Request {
  return new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Without wrk: each loop refreshes its own chain of tokens. */
function refreshByFetch(spec: LoadSpec, seeds: string[]): Promise<LoadResult> {
  const current = Array.from({ length: spec.connections }, (_, i) => seeds[i]);
  return fetchLoop(
    spec,
    (loop) => postJson(spec.url, { refresh_token: current[loop] }),
    (loop, response, body) => {
      if (response.status === 200) current[loop] = JSON.parse(body).refresh_token;
    },
  );
}
