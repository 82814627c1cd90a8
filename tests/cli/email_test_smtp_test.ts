/**
 * `citadel email test --to ADDRESS` against a real SMTP server (smtp-server) that requires
 * STARTTLS and AUTH, with a certificate of a test CA given by SMTP_CA_FILE: the message is
 * accepted and the server's answer printed; a server without STARTTLS and a certificate of
 * another CA get nothing, and the command says why. (tests/cli/email_test.ts covers the .eml
 * file, a refused connection and the usage errors.)
 */
import assert from "node:assert/strict";
import { runCli, tempDir } from "../support/helpers.ts";
import { SMTP_PASS, SMTP_USER, startSmtpServer } from "../support/smtp_server.ts";
import { generateCertificate } from "../support/tls_cert.ts";

const SMTP_FROM = "Citadel Ops <ops@auth.example.test>";

function env(dir: string, port: number, caFile: string): Record<string, string> {
  const credentials = `${encodeURIComponent(SMTP_USER)}:${encodeURIComponent(SMTP_PASS)}`;
  return {
    APP_ENV: "test",
    DATABASE_URL: `file:${dir}/c.db`,
    SMTP_URL: `smtp://${credentials}@127.0.0.1:${port}`,
    SMTP_CA_FILE: caFile,
    SMTP_FROM,
    PUBLIC_URL: "https://auth.example.test",
  };
}

Deno.test("citadel email test --to delivers over STARTTLS and AUTH to a server of the SMTP_CA_FILE CA and prints its answer", async () => {
  await using dir = await tempDir();
  const cert = await generateCertificate(dir.path);
  const smtp = await startSmtpServer({ cert });
  try {
    const sent = await runCli(["email", "test", "--to", "ada@example.test"], {
      cwd: dir.path,
      env: env(dir.path, smtp.port, cert.caFile),
      timeoutMs: 20_000,
    });
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /^sent to ada@example\.test \(smtp\): 250 .+/m);
    assert.equal(sent.stderr, "");
    assert.equal(smtp.received.length, 1);
    const [mail] = smtp.received;
    assert.equal(mail.secure, true, "over STARTTLS");
    assert.equal(mail.user, SMTP_USER, "after AUTH");
    assert.deepEqual(mail.envelopeTo, ["ada@example.test"]);
    assert.equal(mail.parsed.subject, "citadel test message");
    assert.equal(mail.parsed.from?.value[0].address, "ops@auth.example.test");
    assert.equal(mail.parsed.from?.value[0].name, "Citadel Ops");
    assert.ok(mail.parsed.date instanceof Date);
    assert.match(mail.parsed.messageId ?? "", /^<[^@\s]+@[^>\s]+>$/);
    assert.match(mail.parsed.text ?? "", /email delivery works/);
    assert.match(String(mail.parsed.html), /email delivery works/);
    // The credentials of SMTP_URL are never printed.
    assert.ok(!sent.stdout.includes(SMTP_PASS) && !sent.stderr.includes(SMTP_PASS));
  } finally {
    await smtp.stop();
  }
});

Deno.test("citadel email test --to sends nothing, exits 1 and says why when the server offers no STARTTLS or its certificate is of another CA", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/served`);
  await Deno.mkdir(`${dir.path}/other`);
  const served = await generateCertificate(`${dir.path}/served`);
  const other = await generateCertificate(`${dir.path}/other`);
  const plain = await startSmtpServer({ cert: served, noStartTls: true, authOptional: true });
  const tls = await startSmtpServer({ cert: served });
  try {
    const cases = [
      { smtp: plain, caFile: served.caFile, reason: /STARTTLS/i },
      { smtp: tls, caFile: other.caFile, reason: /certificate|self.signed|issuer/i },
    ];
    for (const { smtp, caFile, reason } of cases) {
      const refused = await runCli(["email", "test", "--to", "ada@example.test"], {
        cwd: dir.path,
        env: env(dir.path, smtp.port, caFile),
        timeoutMs: 20_000,
      });
      assert.equal(refused.code, 1, refused.stdout);
      assert.equal(refused.stdout, "");
      assert.match(refused.stderr, /citadel email test: not sent: /);
      assert.match(refused.stderr, reason);
      assert.ok(!refused.stderr.includes(SMTP_PASS), "the password is not printed");
      assert.equal(smtp.received.length, 0);
    }
  } finally {
    await plain.stop();
    await tls.stop();
  }
});
