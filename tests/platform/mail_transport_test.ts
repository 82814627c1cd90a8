import assert from "node:assert/strict";
import { type ParsedMail, simpleParser } from "mailparser";
import {
  fileTransport,
  type OutgoingMessage,
  smtpTransport,
} from "../../src/platform/mail_transport.ts";
import { tempDir } from "../support/helpers.ts";
import { generateCertificate, type TestCertificate } from "../support/tls_cert.ts";
import { SMTP_PASS, SMTP_USER, startSmtpServer } from "../support/smtp_server.ts";

const FROM = "Citadel <no-reply@citadel.test>";
const CREDENTIALS = `${encodeURIComponent(SMTP_USER)}:${encodeURIComponent(SMTP_PASS)}`;

function message(id = "test-1"): OutgoingMessage {
  return {
    to: "alice@example.test",
    subject: "Confirm your address ✓",
    text: "Open https://citadel.test/verify?t=abc to confirm.\n.\nA dot line above.",
    html: '<p>Open <a href="https://citadel.test/verify?t=abc">this link</a>.</p>',
    messageId: `<${id}@citadel.test>`,
  };
}

async function withCertificate<T>(fn: (cert: TestCertificate) => Promise<T>): Promise<T> {
  await using dir = await tempDir();
  return await fn(await generateCertificate(dir.path));
}

function assertSameMessage(parsed: ParsedMail, sent: OutgoingMessage) {
  assert.equal(parsed.from?.value[0].name, "Citadel");
  assert.equal(parsed.from?.value[0].address, "no-reply@citadel.test");
  const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
  assert.equal(to?.value[0].address, sent.to);
  assert.equal(parsed.subject, sent.subject);
  assert.equal(parsed.messageId, sent.messageId);
  assert.ok(parsed.date instanceof Date, "a Date header");
  assert.ok(Math.abs(parsed.date.getTime() - Date.now()) < 60_000, "Date is now");
  assert.equal(parsed.text?.trim(), sent.text);
  assert.equal(String(parsed.html).trim(), sent.html);
}

Deno.test("smtp://: STARTTLS and AUTH against the given CA deliver the message", async () => {
  await withCertificate(async (cert) => {
    const server = await startSmtpServer({ cert });
    const transport = smtpTransport({
      url: `smtp://${CREDENTIALS}@localhost:${server.port}`,
      from: FROM,
      ca: cert.ca,
      timeoutSeconds: 5,
    });
    try {
      const sent = message();
      const result = await transport.send(sent);
      assert.equal(result.messageId, sent.messageId);
      assert.match(result.response, /^250/);
      assert.equal(server.received.length, 1);
      const [mail] = server.received;
      assert.equal(mail.secure, true, "the session was upgraded with STARTTLS");
      assert.equal(mail.user, SMTP_USER);
      assert.deepEqual(mail.envelopeTo, [sent.to]);
      assertSameMessage(mail.parsed, sent);
    } finally {
      transport.close();
      await server.stop();
    }
  });
});

Deno.test("smtp://: a server that does not offer STARTTLS gets nothing", async () => {
  await withCertificate(async (cert) => {
    const server = await startSmtpServer({ cert, noStartTls: true, authOptional: true });
    const transport = smtpTransport({
      url: `smtp://${CREDENTIALS}@localhost:${server.port}`,
      from: FROM,
      ca: cert.ca,
      timeoutSeconds: 5,
    });
    try {
      await assert.rejects(transport.send(message()), (error: Error) => {
        assert.match(error.message, /STARTTLS/i);
        return true;
      });
      assert.equal(server.received.length, 0);
    } finally {
      transport.close();
      await server.stop();
    }
  });
});

Deno.test("smtp://: a certificate the client does not trust is refused", async () => {
  await withCertificate(async (cert) => {
    const server = await startSmtpServer({ cert });
    const transport = smtpTransport({
      url: `smtp://${CREDENTIALS}@localhost:${server.port}`,
      from: FROM,
      timeoutSeconds: 5,
    });
    try {
      await assert.rejects(transport.send(message()), (error: Error) => {
        assert.match(error.message, /certificate|self.signed|issuer/i);
        return true;
      });
      assert.equal(server.received.length, 0);
    } finally {
      transport.close();
      await server.stop();
    }
  });
});

Deno.test("smtp://: wrong credentials are refused", async () => {
  await withCertificate(async (cert) => {
    const server = await startSmtpServer({ cert });
    const transport = smtpTransport({
      url: `smtp://${SMTP_USER}:wrong@localhost:${server.port}`,
      from: FROM,
      ca: cert.ca,
      timeoutSeconds: 5,
    });
    try {
      await assert.rejects(transport.send(message()), (error: Error) => {
        assert.match(error.message, /auth|invalid/i);
        return true;
      });
      assert.equal(server.received.length, 0);
    } finally {
      transport.close();
      await server.stop();
    }
  });
});

Deno.test("smtps://: implicit TLS against the given CA delivers the message", async () => {
  await withCertificate(async (cert) => {
    const server = await startSmtpServer({ cert, secure: true });
    const transport = smtpTransport({
      url: `smtps://${CREDENTIALS}@localhost:${server.port}`,
      from: FROM,
      ca: cert.ca,
      timeoutSeconds: 5,
    });
    try {
      const sent = message("implicit");
      await transport.send(sent);
      assert.equal(server.received.length, 1);
      assert.equal(server.received[0].secure, true);
      assertSameMessage(server.received[0].parsed, sent);
    } finally {
      transport.close();
      await server.stop();
    }
  });
});

Deno.test("smtp:// plaintext only with allowInsecure", async () => {
  const server = await startSmtpServer({ authOptional: true });
  const strict = smtpTransport({
    url: `smtp://localhost:${server.port}`,
    from: FROM,
    timeoutSeconds: 5,
  });
  const insecure = smtpTransport({
    url: `smtp://localhost:${server.port}`,
    from: FROM,
    allowInsecure: true,
    timeoutSeconds: 5,
  });
  try {
    await assert.rejects(strict.send(message("strict")), /STARTTLS/i);
    assert.equal(server.received.length, 0);
    const sent = message("plain");
    await insecure.send(sent);
    assert.equal(server.received.length, 1);
    assert.equal(server.received[0].secure, false);
    assertSameMessage(server.received[0].parsed, sent);
  } finally {
    strict.close();
    insecure.close();
    await server.stop();
  }
});

Deno.test("fileTransport writes one .eml, mode 600, that parses back", async () => {
  await using dir = await tempDir();
  const out = `${dir.path}/mail`;
  const transport = fileTransport(out, FROM);
  try {
    const sent = message("file");
    const result = await transport.send(sent);
    assert.equal(result.messageId, sent.messageId);
    const names = [];
    for await (const entry of Deno.readDir(out)) names.push(entry.name);
    assert.equal(names.length, 1);
    assert.match(names[0], /\.eml$/);
    const path = `${out}/${names[0]}`;
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(out)).mode! & 0o777, 0o700);
    assert.match(result.response, new RegExp(names[0].replace(/\./g, "\\.")));
    assertSameMessage(await simpleParser(await Deno.readTextFile(path)), sent);
  } finally {
    transport.close();
  }
});
