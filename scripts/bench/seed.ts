/**
 * Benchmark fixtures created through citadel's own HTTP API: users, token pairs and an
 * API key. Nothing is written to the database behind the server's back.
 * @module
 */

/** The password of every benchmark user; strong enough for the password policy. */
export const BENCH_PASSWORD = "Violet-Harbor-7qK2-x9Lm-Zt4w";
/** Email of benchmark user `i` (the login Lua script formats `%d` the same way). */
export const BENCH_EMAIL = "loaduser-%d@example.com";

/** An RFC 6749 token response. */
export interface Tokens {
  access_token: string;
  refresh_token: string;
}

/** The email of benchmark user `i`. */
export function benchEmail(i: number): string {
  return BENCH_EMAIL.replace("%d", String(i));
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text };
}

/** Registers users 1..count (an existing user is fine: the database is reused). */
export async function registerUsers(base: string, count: number): Promise<void> {
  const pending = Array.from({ length: count }, (_, i) => i + 1);
  // Two at a time: registration hashes with the production argon2 parameters.
  await Promise.all([0, 1].map(async () => {
    for (let i = pending.shift(); i !== undefined; i = pending.shift()) {
      const { status, text } = await post(`${base}/api/v1/auth/register`, {
        email: benchEmail(i),
        password: BENCH_PASSWORD,
      });
      if (status !== 201 && status !== 409) {
        throw new Error(`registering ${benchEmail(i)} answered ${status}: ${text}`);
      }
    }
  }));
}

/** Logs user `i` in and returns its token pair. */
export async function login(base: string, i: number): Promise<Tokens> {
  const { status, text } = await post(`${base}/api/v1/auth/login`, {
    email: benchEmail(i),
    password: BENCH_PASSWORD,
  });
  if (status !== 200) throw new Error(`login of ${benchEmail(i)} answered ${status}: ${text}`);
  return JSON.parse(text);
}

/** `count` fresh refresh tokens of user `i` (one session each), one at a time. */
export async function refreshTokens(base: string, i: number, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let n = 0; n < count; n++) tokens.push((await login(base, i)).refresh_token);
  return tokens;
}

/** Creates an API key with the `me:read` scope for the holder of `accessToken`. */
export async function createApiKey(base: string, accessToken: string): Promise<string> {
  const { status, text } = await post(`${base}/api/v1/api-keys`, {
    name: "bench",
    scopes: ["me:read"],
  }, { authorization: `Bearer ${accessToken}` });
  if (status !== 201) throw new Error(`creating an API key answered ${status}: ${text}`);
  return JSON.parse(text).key;
}
