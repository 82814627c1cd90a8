import assert from "node:assert/strict";
import type { TestApp } from "./helpers.ts";
import { request } from "./helpers.ts";

/** A password that satisfies the default policy. */
export const STRONG_PASSWORD = "Quartz-Lantern-Orbit-71!";

let counter = 0;
// Letters that appear nowhere in STRONG_PASSWORD and that no digit or symbol reads as: a unique
// part written in them can never resemble the password (the similarity check would refuse it).
const UNIQUE_ALPHABET = "hjkvwxy";
function unique(n: number): string {
  let text = "";
  do {
    text = UNIQUE_ALPHABET[n % UNIQUE_ALPHABET.length] + text;
    n = Math.floor(n / UNIQUE_ALPHABET.length);
  } while (n > 0);
  return text;
}

/** A fresh unique email for each call. */
export function uniqueEmail(prefix = "user"): string {
  return `${prefix}.${unique(Date.now())}.${unique(counter++)}@example.com`;
}

/** Registers a user through the API and returns its JSON view. */
export async function registerUser(
  t: TestApp,
  email = uniqueEmail(),
  password = STRONG_PASSWORD,
  name?: string,
) {
  const res = await request(t.app, "POST", "/api/v1/auth/register", {
    body: { email, password, ...(name ? { name } : {}) },
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).user as { id: string; email: string; role: string };
}

/** Logs in and returns the token response. */
export async function login(t: TestApp, email: string, password = STRONG_PASSWORD, ip?: string) {
  const res = await request(t.app, "POST", "/api/v1/auth/login", {
    body: { email, password },
    ip,
  });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as {
    access_token: string;
    refresh_token: string;
    token_type: string;
    expires_in: number;
    user: { id: string; role: string };
  };
}

/** Sends an authenticated request with a Bearer token. */
export function authed(
  t: TestApp,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<Response> {
  return request(t.app, method, path, { body, headers: { authorization: `Bearer ${token}` } });
}

/** Promotes a user directly in the database (the bootstrap path), then logs in. */
export async function adminSession(t: TestApp, role: "admin" | "super_admin") {
  const email = uniqueEmail(role);
  const user = await registerUser(t, email);
  await t.deps.db.updateTable("users").set({ role }).where("id", "=", user.id).execute();
  return { user, tokens: await login(t, email) };
}
