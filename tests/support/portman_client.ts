/**
 * The HTTP calls the Portman fixtures (portman_fixtures.ts) make on the live server, each
 * asserting its status, and the tokens of the links its development mailer writes as `.eml`
 * files.
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { simpleParser } from "mailparser";
import { STRONG_PASSWORD, uniqueEmail } from "./auth_support.ts";
import { totp } from "./mfa_support.ts";
import type { SoftAuthenticator } from "./soft_authenticator.ts";

/** The answer of one call: status, parsed JSON body (if any) and text. */
interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  text: string;
}

/** Calls the live server and asserts the status. */
async function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; status: number },
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  assert.equal(res.status, options.status, `fixture ${method} ${path}: ${text}`);
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
}

/** The fixture calls of one server. */
export function client(base: string) {
  const post = (path: string, body: unknown, status: number, token?: string) =>
    call(base, "POST", path, { body, status, token });
  return {
    call: (method: string, path: string, token: string, status: number) =>
      call(base, method, path, { token, status }),
    post,
    async register(prefix: string): Promise<{ id: string; email: string }> {
      const email = uniqueEmail(`portman-${prefix}`);
      const res = await post("/api/v1/auth/register", { email, password: STRONG_PASSWORD }, 201);
      return { id: res.body.user.id, email };
    },
    async login(email: string, password = STRONG_PASSWORD) {
      return (await post("/api/v1/auth/login", { email, password }, 200)).body;
    },
    async apiKey(token: string, name: string): Promise<string> {
      const res = await post("/api/v1/api-keys", { name, scopes: ["me:read"] }, 201, token);
      return res.body.api_key.id;
    },
    async passkey(token: string, authenticator: SoftAuthenticator): Promise<string> {
      const options = await post("/api/v1/me/passkeys/options", undefined, 200, token);
      const response = await authenticator.register(options.body);
      return (await post("/api/v1/me/passkeys", { name: "Portman", response }, 201, token)).body
        .id;
    },
    /** Enrols TOTP for a new account; its recovery codes and a session from before. */
    async mfaUser(prefix: string) {
      const user = await this.register(prefix);
      const { access_token: token } = await this.login(user.email);
      const { secret } = (await post("/api/v1/me/mfa/totp", undefined, 200, token)).body;
      const code = totp(secret, Date.now());
      const done = await post("/api/v1/me/mfa/totp/verify", { code }, 200, token);
      return { ...user, token, recoveryCodes: done.body.recovery_codes as string[] };
    },
  };
}

/** The token of the newest `page` link (verify-email, ...) mailed to `to`, waiting for it. */
export async function mailedToken(dataDir: string, to: string, page: string): Promise<string> {
  const pattern = new RegExp(`/${page}#token=([A-Za-z0-9_-]+)`);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const files: string[] = [];
    try {
      for await (const entry of Deno.readDir(`${dataDir}/mail`)) {
        if (entry.name.endsWith(".eml")) files.push(`${dataDir}/mail/${entry.name}`);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    for (const file of files.sort().reverse()) {
      const mail = await simpleParser(Buffer.from(await Deno.readFile(file)));
      const recipients = [mail.to].flat().flatMap((a) => a?.value ?? []).map((a) => a.address);
      const link = recipients.includes(to) ? pattern.exec(mail.text ?? "") : null;
      if (link) return link[1];
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no ${page} link to ${to} under ${dataDir}/mail`);
}
