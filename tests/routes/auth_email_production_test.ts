/**
 * Email switched off and security notices (issue 18): in production without SMTP_URL every
 * email endpoint answers 503 `email_not_configured` (problem+json) and nothing is queued;
 * where email is on, changing the password, turning MFA on and creating an API key each queue
 * a security notice to the owner, unless EMAIL_SECURITY_NOTICES=false.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import {
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../support/auth_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { outbox } from "../support/email_support.ts";
import { assertProblem, auditRows, mfaUser, midStepMs } from "../support/mfa_support.ts";

/** A production configuration that breaks no production rule, without SMTP_URL. */
function productionEnv(): Record<string, string> {
  const secret = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(48))));
  return {
    APP_ENV: "production",
    JWT_SECRET_KEY: secret(),
    HASH_PEPPER: secret(),
    ALLOWED_HOSTS: "localhost",
    CORS_ORIGINS: "https://app.example.com",
    TRUSTED_PROXIES: "127.0.0.1",
  };
}

const TOKEN = "A".repeat(43);

Deno.test("in production without SMTP_URL every email endpoint answers 503 email_not_configured as problem+json, and nothing is queued", async () => {
  const t = await buildTestApp(productionEnv());
  try {
    assert.equal(t.deps.config.appEnv, "production");
    assert.equal(t.deps.config.email.smtpUrl, undefined);
    // Registration works without email (and queues no verification message).
    const user = await registerUser(t);
    const session = await login(t, user.email);

    const calls: Array<[string, unknown]> = [
      ["/api/v1/auth/verify-email/request", { email: user.email }],
      ["/api/v1/auth/verify-email", { token: TOKEN }],
      ["/api/v1/auth/password-reset/request", { email: user.email }],
      ["/api/v1/auth/password-reset", { token: TOKEN, new_password: "Velvet-Harbor-58?" }],
      ["/api/v1/auth/confirm-email-change", { token: TOKEN }],
      ["/api/v1/auth/unlock", { token: TOKEN }],
    ];
    for (const [path, body] of calls) {
      const res = await request(t.app, "POST", path, { body });
      const problem = await assertProblem(res, 503, "email_not_configured");
      assert.equal(problem.status, 503, path);
      assert.match(problem.detail, /SMTP_URL/, path);
      assert.equal(typeof problem.type, "string");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
    }
    const change = await authed(t, "POST", "/api/v1/me/email", session.access_token, {
      new_email: uniqueEmail("new"),
      password: STRONG_PASSWORD,
    });
    await assertProblem(change, 503, "email_not_configured");

    assert.deepEqual(await outbox(t), []);
    assert.deepEqual(await t.deps.db.selectFrom("email_tokens").selectAll().execute(), []);
  } finally {
    await t.close();
  }
});

/** Registers and signs in a user, and forgets the messages registration queued. */
async function owner(t: TestApp) {
  const user = await registerUser(t, uniqueEmail("owner"));
  const tokens = await login(t, user.email);
  await t.deps.db.deleteFrom("email_outbox").execute();
  return { ...user, tokens };
}

Deno.test("changing the password queues a password_changed notice to the owner, saying from where", async () => {
  const t = await buildTestApp();
  try {
    const user = await owner(t);
    const res = await request(t.app, "POST", "/api/v1/me/password", {
      body: { current_password: STRONG_PASSWORD, new_password: "Velvet-Harbor-Compass-58?" },
      headers: { authorization: `Bearer ${user.tokens.access_token}` },
      ip: "198.51.100.23",
    });
    assert.equal(res.status, 204, await res.clone().text());
    const rows = await outbox(t);
    assert.deepEqual(rows.map((r) => [r.kind, r.recipient]), [["password_changed", user.email]]);
    assert.match(rows[0].text_body, /198\.51\.100\.23/);
    assert.match(rows[0].text_body, /If this was not you/);
  } finally {
    await t.close();
  }
});

Deno.test("turning MFA on queues a security notice to the owner", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await mfaUser(t, clock);
    const notices = await outbox(t, { kind: "security_notice" });
    assert.deepEqual(notices.map((r) => r.recipient), [user.email]);
    assert.match(notices[0].subject, /^Security notice: Two-factor authentication was turned on/);
    assert.match(notices[0].text_body, /If this was not you/);
    const [enrolled] = await auditRows(t, "mfa.enrolled");
    assert.equal(enrolled.target_id, user.id);
  } finally {
    await t.close();
  }
});

Deno.test("creating an API key queues a security notice naming the key to its owner", async () => {
  const t = await buildTestApp();
  try {
    const user = await owner(t);
    const res = await authed(t, "POST", "/api/v1/api-keys", user.tokens.access_token, {
      name: "deploy bot",
      scopes: ["me:read"],
    });
    assert.equal(res.status, 201);
    const { key } = await res.json();
    const rows = await outbox(t);
    assert.deepEqual(rows.map((r) => [r.kind, r.recipient]), [["security_notice", user.email]]);
    assert.match(rows[0].subject, /An API key named "deploy bot" was created/);
    assert.ok(!rows[0].text_body.includes(key), "the key itself is never in a message");
    assert.ok(!rows[0].html_body.includes(key));
  } finally {
    await t.close();
  }
});

Deno.test("with EMAIL_SECURITY_NOTICES=false, password changes, MFA and new API keys queue no notice", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({ EMAIL_SECURITY_NOTICES: "false" }, { clock });
  try {
    const user = await owner(t);
    const key = await authed(t, "POST", "/api/v1/api-keys", user.tokens.access_token, {
      name: "quiet",
      scopes: ["me:read"],
    });
    assert.equal(key.status, 201);
    await key.body?.cancel();
    const changed = await authed(t, "POST", "/api/v1/me/password", user.tokens.access_token, {
      current_password: STRONG_PASSWORD,
      new_password: "Velvet-Harbor-Compass-58?",
    });
    assert.equal(changed.status, 204, await changed.clone().text());
    await mfaUser(t, clock);

    const kinds = (await outbox(t)).map((r) => r.kind);
    assert.deepEqual(
      kinds.filter((k) => k === "security_notice" || k === "password_changed"),
      [],
      kinds.join(", "),
    );
    // The changes happened and are audited; only the notices are off.
    assert.equal((await auditRows(t, "user.password_changed")).length, 1);
    assert.equal((await auditRows(t, "mfa.enrolled")).length, 1);
    assert.equal((await auditRows(t, "api_key.created")).length, 1);
  } finally {
    await t.close();
  }
});
