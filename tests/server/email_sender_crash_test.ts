/**
 * Issue 18's crash test against a real `citadel serve` process on a database file: a message
 * committed to the outbox survives kill -9 and is delivered exactly once after the restart,
 * and a delivered message is not sent again by the restarted server. The SMTP server is a
 * real smtp-server requiring STARTTLS and AUTH, with a certificate of a test CA.
 */
import assert from "node:assert/strict";
import { type Client, createClient } from "@libsql/client/node";
import { STRONG_PASSWORD } from "../support/auth_support.ts";
import { type ServerProcess, startServer, tempDir, TEST_ENV } from "../support/helpers.ts";
import { postJson } from "../support/spawned_server.ts";
import {
  freePort,
  type ReceivedMail,
  SMTP_PASS,
  SMTP_USER,
  startSmtpServer,
  type TestSmtpServer,
} from "../support/smtp_server.ts";
import { generateCertificate } from "../support/tls_cert.ts";

const PUBLIC_URL = "https://auth.example.test";
/** Polls of the sender (one a second) waited for before concluding nothing more comes. */
const QUIET_MS = 4_000;

function citadelEnv(dir: string, smtpPort: number, caFile: string): Record<string, string> {
  const credentials = `${encodeURIComponent(SMTP_USER)}:${encodeURIComponent(SMTP_PASS)}`;
  return {
    ...TEST_ENV,
    LOG_LEVEL: "info",
    DATABASE_URL: `file:${dir}/citadel.db`,
    SMTP_URL: `smtp://${credentials}@127.0.0.1:${smtpPort}`,
    SMTP_CA_FILE: caFile,
    SMTP_FROM: "Citadel <no-reply@auth.example.test>",
    PUBLIC_URL,
  };
}

interface OutboxRow {
  id: string;
  kind: string;
  attempts: number;
  sent_at: number | null;
  lease_until: number | null;
  message_id: string | null;
}

async function outbox(client: Client): Promise<OutboxRow[]> {
  const result = await client.execute(
    "SELECT id, kind, attempts, sent_at, lease_until, message_id FROM email_outbox " +
      "ORDER BY created_at",
  );
  const num = (v: unknown) => v === null ? null : Number(v);
  return result.rows.map((r) => ({
    id: String(r.id),
    kind: String(r.kind),
    attempts: Number(r.attempts),
    sent_at: num(r.sent_at),
    lease_until: num(r.lease_until),
    message_id: r.message_id === null ? null : String(r.message_id),
  }));
}

async function rowOf(client: Client, kind: string): Promise<OutboxRow> {
  const rows = (await outbox(client)).filter((r) => r.kind === kind);
  assert.equal(rows.length, 1, `one ${kind} message queued`);
  return rows[0];
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still not done: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The received copies of the message with this Message-ID. */
const copies = (smtp: TestSmtpServer, messageId: string): ReceivedMail[] =>
  smtp.received.filter((m) => m.parsed.messageId === messageId);

const messageIdOf = (row: OutboxRow) => `<${row.id}@auth.example.test>`;

/** kill -9, and the proof that it was one. */
async function killHard(server: ServerProcess) {
  const status = await server.stop("SIGKILL");
  assert.equal(status.success, false);
  assert.equal(status.signal, "SIGKILL");
}

async function register(server: ServerProcess, email: string) {
  const res = await postJson(`${server.url}/api/v1/auth/register`, {
    email,
    password: STRONG_PASSWORD,
  });
  assert.equal(res.status, 201, await res.clone().text());
}

async function requestReset(server: ServerProcess, email: string) {
  const res = await postJson(`${server.url}/api/v1/auth/password-reset/request`, { email });
  assert.equal(res.status, 202, await res.clone().text());
}

Deno.test("a reset message committed while the mail server is down survives kill -9 and is delivered exactly once after the restart", async () => {
  await using dir = await tempDir();
  const cert = await generateCertificate(dir.path);
  const port = freePort(); // nothing listens there yet
  const env = citadelEnv(dir.path, port, cert.caFile);
  const email = "crash@example.test";
  const db = createClient({ url: `file:${dir.path}/citadel.db` });
  let server: ServerProcess | undefined = await startServer(env, { cwd: dir.path });
  let smtp: TestSmtpServer | undefined;
  try {
    await register(server, email);
    await requestReset(server, email);
    const queued = await rowOf(db, "password_reset");
    assert.equal(queued.sent_at, null, "committed and unsent");
    // Killed between two attempts (the sender's first one failed: connection refused), so the
    // kill does not land inside a send, whose lease would hold the row for two minutes.
    const failed = await eventually(
      () => rowOf(db, "password_reset"),
      (r) => r.attempts >= 1 && r.lease_until === null,
    );
    await killHard(server);
    server = undefined;
    const afterKill = await rowOf(db, "password_reset");
    assert.equal(afterKill.sent_at, null);
    assert.equal(afterKill.attempts, failed.attempts, "no attempt after the kill");

    smtp = await startSmtpServer({ cert, port });
    server = await startServer(env, { cwd: dir.path });
    const sent = await eventually(
      () => rowOf(db, "password_reset"),
      (r) => r.sent_at !== null,
    );
    assert.equal(sent.message_id, messageIdOf(queued));
    assert.equal(copies(smtp, messageIdOf(queued)).length, 1);

    // More polls of the restarted sender bring no second copy of anything.
    await new Promise((r) => setTimeout(r, QUIET_MS));
    const [reset] = copies(smtp, messageIdOf(queued));
    assert.equal(copies(smtp, messageIdOf(queued)).length, 1, "exactly one copy");
    assert.equal(reset.secure, true);
    assert.deepEqual(reset.envelopeTo, [email]);
    assert.equal(reset.parsed.subject, "Reset your password");
    const ids = smtp.received.map((m) => m.parsed.messageId);
    assert.equal(new Set(ids).size, ids.length, "no message arrived twice");
    const rows = await outbox(db);
    assert.deepEqual(rows.map((r) => r.kind).sort(), ["password_reset", "verify_email"]);
    for (const row of rows) {
      assert.notEqual(row.sent_at, null, `${row.kind} sent`);
      assert.equal(copies(smtp, messageIdOf(row)).length, 1, `${row.kind} once`);
    }

    // The link delivered after the crash is the live one.
    const token = /#token=([A-Za-z0-9_-]{43})/.exec(reset.parsed.text ?? "")?.[1];
    assert.ok(token, "the reset link");
    const done = await postJson(`${server.url}/api/v1/auth/password-reset`, {
      token,
      new_password: "Velvet-Harbor-Comet-38?",
    });
    assert.equal(done.status, 204, await done.clone().text());
  } finally {
    db.close();
    await server?.stop();
    await smtp?.stop();
  }
});

Deno.test("a delivered message is not sent again after kill -9 and a restart, while the restarted sender delivers new ones", async () => {
  await using dir = await tempDir();
  const cert = await generateCertificate(dir.path);
  const smtp = await startSmtpServer({ cert });
  const env = citadelEnv(dir.path, smtp.port, cert.caFile);
  const email = "once@example.test";
  const db = createClient({ url: `file:${dir.path}/citadel.db` });
  let server: ServerProcess | undefined = await startServer(env, { cwd: dir.path });
  try {
    await register(server, email);
    const verify = await eventually(
      () => rowOf(db, "verify_email"),
      (r) => r.sent_at !== null,
    );
    assert.equal(copies(smtp, messageIdOf(verify)).length, 1);
    await killHard(server);
    server = undefined;

    server = await startServer(env, { cwd: dir.path });
    // A new message proves the restarted sender runs; the old one must not come again.
    await requestReset(server, email);
    const reset = await eventually(
      () => rowOf(db, "password_reset"),
      (r) => r.sent_at !== null,
    );
    await new Promise((r) => setTimeout(r, QUIET_MS));
    assert.equal(copies(smtp, messageIdOf(verify)).length, 1, "the delivered one, once");
    assert.equal(copies(smtp, messageIdOf(reset)).length, 1, "the new one, once");
    assert.equal(smtp.received.length, 2);
    const after = await rowOf(db, "verify_email");
    assert.equal(after.sent_at, verify.sent_at, "the sent row was not touched again");
    assert.equal(after.attempts, 0);
  } finally {
    db.close();
    await server?.stop();
    await smtp.stop();
  }
});
