/**
 * Issue 18 end to end: a real `citadel serve` process on a database file sends its mail through
 * a real SMTP server (smtp-server) that requires STARTTLS and AUTH, with a certificate of a test
 * CA given by SMTP_CA_FILE. Each message is parsed as the server received it (headers, parts,
 * links, tokens), and verification, password reset and email change are completed through the
 * real endpoints. The transport's refusals (no STARTTLS, an untrusted certificate) are proven
 * at the unit level in tests/platform/mail_transport_test.ts; here they are proven through the
 * running server: nothing reaches the SMTP server and the message stays in the outbox.
 */
import assert from "node:assert/strict";
import { type Client, createClient } from "@libsql/client/node";
import type { ParsedMail } from "mailparser";
import { REQUEST_ACCEPTED } from "../../src/routes/auth_email.ts";
import { STRONG_PASSWORD } from "../support/auth_support.ts";
import { type ServerProcess, startServer, tempDir, TEST_ENV } from "../support/helpers.ts";
import { postJson, waitForLine } from "../support/spawned_server.ts";
import {
  type ReceivedMail,
  SMTP_PASS,
  SMTP_USER,
  startSmtpServer,
  type TestSmtpServer,
} from "../support/smtp_server.ts";
import { generateCertificate, type TestCertificate } from "../support/tls_cert.ts";

const PUBLIC_URL = "https://auth.example.test";
const SMTP_FROM = "Citadel Accounts <no-reply@auth.example.test>";
const NEW_PASSWORD = "Velvet-Harbor-Comet-38?";
const TOKEN = "[A-Za-z0-9_-]{43}";

/** The server's environment: TEST_ENV's fast argon2 and high limits, a file database, SMTP. */
function citadelEnv(dir: string, smtpPort: number, caFile?: string): Record<string, string> {
  const credentials = `${encodeURIComponent(SMTP_USER)}:${encodeURIComponent(SMTP_PASS)}`;
  return {
    ...TEST_ENV,
    // "listening" is an info line; startServer waits for it.
    LOG_LEVEL: "info",
    DATABASE_URL: `file:${dir}/citadel.db`,
    SMTP_URL: `smtp://${credentials}@127.0.0.1:${smtpPort}`,
    ...(caFile ? { SMTP_CA_FILE: caFile } : {}),
    SMTP_FROM,
    PUBLIC_URL,
  };
}

/** A certificate of its own test CA, in a subdirectory of `dir`. */
async function certificateIn(dir: string, name: string): Promise<TestCertificate> {
  await Deno.mkdir(`${dir}/${name}`);
  return await generateCertificate(`${dir}/${name}`);
}

/** A second reader of the server's database file (WAL: it reads while the server writes). */
function openDatabase(dir: string): Client {
  return createClient({ url: `file:${dir}/citadel.db` });
}

interface OutboxRow {
  id: string;
  recipient: string;
  kind: string;
  attempts: number;
  sent_at: number | null;
  last_error: string | null;
  message_id: string | null;
}

async function outbox(client: Client): Promise<OutboxRow[]> {
  const result = await client.execute(
    "SELECT id, recipient, kind, attempts, sent_at, last_error, message_id FROM email_outbox " +
      "ORDER BY created_at",
  );
  return result.rows.map((r) => ({
    id: String(r.id),
    recipient: String(r.recipient),
    kind: String(r.kind),
    attempts: Number(r.attempts),
    sent_at: r.sent_at === null ? null : Number(r.sent_at),
    last_error: r.last_error === null ? null : String(r.last_error),
    message_id: r.message_id === null ? null : String(r.message_id),
  }));
}

/** Waits for the first received message that `matches` (the sender polls every second). */
async function waitForMail(
  smtp: TestSmtpServer,
  matches: (mail: ReceivedMail) => boolean,
  ms = 10_000,
): Promise<ReceivedMail> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = smtp.received.find(matches);
    if (found) return found;
    if (Date.now() > deadline) {
      const got = smtp.received.map((m) => `${m.envelopeTo.join(",")}: ${m.parsed.subject}`);
      throw new Error(`no matching message after ${ms} ms; received: ${got.join(" | ")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `read` until `done` holds of its result. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still not done: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const to = (mail: ReceivedMail, address: string, subject: string) =>
  mail.envelopeTo.includes(address) && mail.parsed.subject === subject;

function firstAddress(field: ParsedMail["to"]) {
  return (Array.isArray(field) ? field[0] : field)?.value[0];
}

/**
 * Asserts the headers and parts every message has: over TLS, authenticated, From SMTP_FROM,
 * Date now, a Message-ID of PUBLIC_URL's host, To the recipient, text and HTML parts, and no
 * remote resource in the HTML.
 */
function assertWellFormed(mail: ReceivedMail, recipient: string) {
  assert.equal(mail.secure, true, "delivered over TLS (STARTTLS)");
  assert.equal(mail.user, SMTP_USER, "after AUTH");
  assert.deepEqual(mail.envelopeTo, [recipient]);
  const { parsed } = mail;
  assert.equal(parsed.from?.value[0].name, "Citadel Accounts");
  assert.equal(parsed.from?.value[0].address, "no-reply@auth.example.test");
  assert.equal(firstAddress(parsed.to)?.address, recipient);
  assert.match(mail.raw, /^Date: /m, "a Date header");
  assert.ok(parsed.date instanceof Date && Math.abs(parsed.date.getTime() - Date.now()) < 60_000);
  assert.match(mail.raw, /^Message-ID: </im, "a Message-ID header");
  assert.match(parsed.messageId ?? "", /^<[0-9a-f-]{36}@auth\.example\.test>$/);
  assert.match(mail.raw, /multipart\/alternative/i);
  assert.ok(parsed.text && parsed.text.trim().length > 0, "a text part");
  const html = String(parsed.html);
  assert.ok(html.includes("<p>"), "an HTML part");
  assert.doesNotMatch(html, /\bsrc\s*=/i, "no src= at all (images, scripts, frames)");
  assert.doesNotMatch(html, /<(img|script|link|iframe|object|embed|style)\b/i);
  assert.doesNotMatch(html, /url\s*\(|@import|background\s*=/i, "no CSS or attribute fetches");
}

/**
 * The action link of a message (`${PUBLIC_URL}/account/<page>#token=...`): the same link in
 * the text part and as the HTML part's only remote URL, and the token alone in the text part.
 */
function linkToken(mail: ReceivedMail, page: string): string {
  const text = mail.parsed.text ?? "";
  const html = String(mail.parsed.html);
  const link = new RegExp(`${PUBLIC_URL}/account/${page}#token=(${TOKEN})(?![A-Za-z0-9_-])`);
  const inText = link.exec(text);
  assert.ok(inText, `the ${page} link in the text part:\n${text}`);
  const token = inText[1];
  const url = `${PUBLIC_URL}/account/${page}#token=${token}`;
  assert.deepEqual(html.match(/https?:\/\/[^"'\s<>]+/g), [url], "the one URL of the HTML part");
  assert.ok(html.includes(`<a href="${url}">`));
  assert.match(text, new RegExp(`(^|\\s)${token}$`, "m"), "the token alone, to paste");
  return token;
}

async function login(server: ServerProcess, email: string, password: string) {
  return await postJson(`${server.url}/api/v1/auth/login`, { email, password });
}

async function loggedIn(server: ServerProcess, email: string, password: string) {
  const res = await login(server, email, password);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as { access_token: string; refresh_token: string };
}

/** The token must appear in no log line of the server. */
function assertNotLogged(server: ServerProcess, token: string) {
  assert.ok(!server.output.some((line) => line.includes(token)), "the token is not logged");
}

Deno.test("a live server mails verification, reset and email-change links over STARTTLS+AUTH, and each link completes its flow through the real endpoints", async () => {
  await using dir = await tempDir();
  const cert = await certificateIn(dir.path, "tls");
  const smtp = await startSmtpServer({ cert });
  const server = await startServer(citadelEnv(dir.path, smtp.port, cert.caFile), {
    cwd: dir.path,
  });
  const db = openDatabase(dir.path);
  try {
    const email = "ada@example.test";

    // Registration queues the verification message; the sender delivers it.
    const registered = await postJson(`${server.url}/api/v1/auth/register`, {
      email,
      password: STRONG_PASSWORD,
    });
    assert.equal(registered.status, 201, await registered.clone().text());
    const user = (await registered.json()).user as { id: string; email_verified: boolean };
    assert.equal(user.email_verified, false);
    const verification = await waitForMail(smtp, (m) => to(m, email, "Confirm your email address"));
    assertWellFormed(verification, email);
    const verifyToken = linkToken(verification, "verify-email");
    const [verifyRow] = (await outbox(db)).filter((r) => r.kind === "verify_email");
    assert.equal(verifyRow.recipient, email);
    assert.equal(verification.parsed.messageId, `<${verifyRow.id}@auth.example.test>`);

    const verified = await postJson(`${server.url}/api/v1/auth/verify-email`, {
      token: verifyToken,
    });
    assert.equal(verified.status, 200, await verified.clone().text());
    const verifiedUser = (await verified.json()).user;
    assert.equal(verifiedUser.id, user.id);
    assert.equal(verifiedUser.email_verified, true);
    const again = await postJson(`${server.url}/api/v1/auth/verify-email`, { token: verifyToken });
    assert.equal(again.status, 400);
    assert.equal((await again.json()).code, "invalid_token", "a link works once");
    const flag = await db.execute({
      sql: "SELECT email_verified_at FROM users WHERE id = ?",
      args: [user.id],
    });
    assert.notEqual(flag.rows[0].email_verified_at, null);

    // Password reset: the link resets, a notice follows, sessions from before are refused.
    const before = await loggedIn(server, email, STRONG_PASSWORD);
    const asked = await postJson(`${server.url}/api/v1/auth/password-reset/request`, { email });
    assert.equal(asked.status, 202);
    assert.deepEqual(await asked.json(), REQUEST_ACCEPTED);
    const resetMail = await waitForMail(smtp, (m) => to(m, email, "Reset your password"));
    assertWellFormed(resetMail, email);
    const resetToken = linkToken(resetMail, "reset-password");
    assert.notEqual(resetToken, verifyToken);
    const reset = await postJson(`${server.url}/api/v1/auth/password-reset`, {
      token: resetToken,
      new_password: NEW_PASSWORD,
    });
    assert.equal(reset.status, 204, await reset.clone().text());
    const changed = await waitForMail(smtp, (m) => to(m, email, "Your password was changed"));
    assertWellFormed(changed, email);
    assert.match(changed.parsed.text ?? "", /password of your account was changed at \S+Z from /);
    assert.doesNotMatch(changed.parsed.text ?? "", /#token=/, "a notice carries no link");

    const oldPassword = await login(server, email, STRONG_PASSWORD);
    assert.equal(oldPassword.status, 401);
    assert.equal((await oldPassword.json()).code, "invalid_credentials");
    const refreshed = await postJson(`${server.url}/api/v1/auth/refresh`, {
      refresh_token: before.refresh_token,
    });
    assert.equal(refreshed.status, 401, "the reset revoked the session from before");
    assert.equal((await refreshed.json()).code, "invalid_refresh_token");
    const session = await loggedIn(server, email, NEW_PASSWORD);

    // Email change: a confirmation to the new address, a notice to the old one.
    const newEmail = "ada.lovelace@example.test";
    const change = await postJson(`${server.url}/api/v1/me/email`, {
      new_email: newEmail,
      password: NEW_PASSWORD,
    }, { authorization: `Bearer ${session.access_token}` });
    assert.equal(change.status, 202, await change.clone().text());
    const confirmation = await waitForMail(
      smtp,
      (m) => to(m, newEmail, "Confirm your new email address"),
    );
    assertWellFormed(confirmation, newEmail);
    const changeToken = linkToken(confirmation, "confirm-email-change");
    const notice = await waitForMail(
      smtp,
      (m) => to(m, email, "Your account's email address is changing"),
    );
    assertWellFormed(notice, email);
    assert.ok((notice.parsed.text ?? "").includes(newEmail), "the notice names the new address");
    assert.doesNotMatch(notice.parsed.text ?? "", /#token=/);
    assert.ok(!notice.raw.includes(changeToken), "the old address never sees the token");

    const confirmed = await postJson(`${server.url}/api/v1/auth/confirm-email-change`, {
      token: changeToken,
    });
    assert.equal(confirmed.status, 200, await confirmed.clone().text());
    const confirmedUser = (await confirmed.json()).user;
    assert.equal(confirmedUser.id, user.id);
    assert.equal(confirmedUser.email, newEmail);
    await loggedIn(server, newEmail, NEW_PASSWORD);
    const oldAddress = await login(server, email, NEW_PASSWORD);
    assert.equal(oldAddress.status, 401);

    // Every delivered message is marked sent once, with the Message-ID the server received.
    const rows = await eventually(() => outbox(db), (rs) => rs.every((r) => r.sent_at !== null));
    const received = smtp.received.map((m) => m.parsed.messageId);
    assert.equal(new Set(received).size, received.length, "no message arrived twice");
    for (const row of rows) {
      assert.equal(row.message_id, `<${row.id}@auth.example.test>`);
      assert.equal(received.filter((id) => id === row.message_id).length, 1, row.kind);
      assert.equal(row.attempts, 0, "delivered at the first attempt");
    }
    for (const token of [verifyToken, resetToken, changeToken]) assertNotLogged(server, token);
  } finally {
    db.close();
    await server.stop();
    await smtp.stop();
  }
});

/** Starts citadel against `smtp`, registers a user and returns the verification's outbox row once an attempt failed. */
async function assertRefused(
  dir: string,
  smtp: TestSmtpServer,
  caFile: string,
  error: RegExp,
) {
  const server = await startServer(citadelEnv(dir, smtp.port, caFile), { cwd: dir });
  const db = openDatabase(dir);
  try {
    const email = "grace@example.test";
    const registered = await postJson(`${server.url}/api/v1/auth/register`, {
      email,
      password: STRONG_PASSWORD,
    });
    assert.equal(registered.status, 201, await registered.clone().text());
    const [row] = await eventually(() => outbox(db), (rs) => rs.length === 1 && rs[0].attempts > 0);
    assert.equal(row.kind, "verify_email");
    assert.equal(row.recipient, email);
    assert.equal(row.sent_at, null, "the message stays in the outbox");
    assert.equal(row.message_id, null);
    assert.ok(row.attempts >= 1);
    assert.match(row.last_error ?? "", error);

    const audited = await db.execute({
      sql: "SELECT details FROM audit_events WHERE action = 'email.delivery_failed' " +
        "AND target_id = ? ORDER BY seq",
      args: [row.id],
    });
    assert.ok(audited.rows.length >= 1, "the failure is audited");
    assert.equal(JSON.parse(String(audited.rows[0].details)).kind, "verify_email");
    // Log lines are written in batches: wait for it.
    const logged = await waitForLine(server.output, /"msg":"email delivery failed"/);
    assert.match(logged, error);
    assert.match(logged, new RegExp(`"id":"${row.id}"`));
    assert.equal(smtp.received.length, 0, "the SMTP server received nothing");
  } finally {
    db.close();
    await server.stop();
  }
}

Deno.test("a live server sends nothing to an SMTP server that does not offer STARTTLS; the message stays queued, logged and audited", async () => {
  await using dir = await tempDir();
  const cert = await certificateIn(dir.path, "tls");
  // A server that would take the message in plaintext, without AUTH: citadel must not.
  const smtp = await startSmtpServer({ cert, noStartTls: true, authOptional: true });
  try {
    await assertRefused(dir.path, smtp, cert.caFile, /STARTTLS/i);
  } finally {
    await smtp.stop();
  }
});

Deno.test("a live server sends nothing to an SMTP server whose certificate is not of a trusted CA; the message stays queued, logged and audited", async () => {
  await using dir = await tempDir();
  const served = await certificateIn(dir.path, "served");
  // SMTP_CA_FILE names another test CA: the server's certificate does not chain to it.
  const other = await certificateIn(dir.path, "other");
  const smtp = await startSmtpServer({ cert: served });
  try {
    await assertRefused(dir.path, smtp, other.caFile, /certificate|self.signed|issuer/i);
  } finally {
    await smtp.stop();
  }
});
