import assert from "node:assert/strict";
import { escapeHtml, messages, oneLine, recipientOf } from "../../src/services/email_messages.ts";

const CONTEXT = { linkBase: "https://auth.example.com/account/", at: "2026-12-03T10:00:00Z" };
const TOKEN = "a".repeat(43);

Deno.test("links carry the token in the fragment, and the text part carries it too", () => {
  const m = messages.passwordReset("ada@example.com", TOKEN, { ...CONTEXT, ip: "192.0.2.1" });
  assert.match(
    m.text,
    new RegExp(`https://auth\\.example\\.com/account/reset-password#token=${TOKEN}`),
  );
  assert.match(m.text, new RegExp(`code where you are asked for it: ${TOKEN}`));
  assert.match(
    m.html,
    new RegExp(`href="https://auth\\.example\\.com/account/reset-password#token=${TOKEN}"`),
  );
  assert.match(m.text, /192\.0\.2\.1/);
  assert.equal(m.kind, "password_reset");
  const verify = messages.verifyEmail("ada@example.com", TOKEN, CONTEXT);
  assert.match(verify.text, /\/verify-email#token=/);
  assert.match(messages.unlock("a@example.com", TOKEN, CONTEXT).text, /\/unlock#token=/);
});

Deno.test("user-controlled text is escaped in HTML and cannot break a header line", () => {
  assert.equal(
    escapeHtml(`<img src=x onerror="a">&'`),
    "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;",
  );
  assert.equal(oneLine("Ada\r\nBcc: evil@example.com"), "Ada Bcc: evil@example.com");
  const notice = messages.securityNotice(
    "ada@example.com\r\nBcc: x@example.com",
    "API key <b>x</b>\r\nX: y",
    CONTEXT,
  );
  assert.doesNotMatch(notice.to, /[\r\n]/);
  assert.doesNotMatch(notice.subject, /[\r\n]/);
  assert.doesNotMatch(notice.html, /<b>x<\/b>/);
  assert.match(notice.html, /&lt;b&gt;x&lt;\/b&gt;/);
  const change = messages.emailChangeNotice(
    "old@example.com",
    "new@example.com\r\nBcc: z",
    CONTEXT,
  );
  assert.doesNotMatch(change.text, /new@example\.com\r?\nBcc/);
});

Deno.test("no message references a remote resource", () => {
  const all = [
    messages.verifyEmail("a@example.com", TOKEN, CONTEXT),
    messages.passwordReset("a@example.com", TOKEN, CONTEXT),
    messages.passwordChanged("a@example.com", CONTEXT),
    messages.emailChangeConfirm("a@example.com", TOKEN, CONTEXT),
    messages.emailChangeNotice("a@example.com", "b@example.com", CONTEXT),
    messages.registrationAttempt("a@example.com", CONTEXT),
    messages.unlock("a@example.com", TOKEN, CONTEXT),
    messages.securityNotice("a@example.com", "MFA enabled", CONTEXT),
  ];
  for (const m of all) {
    assert.doesNotMatch(m.html, /<img|<script|<link|src=|url\(/i, m.kind);
    assert.ok(m.text.endsWith("\n"));
  }
});

Deno.test("an account's name greets it on one line in the text and escaped in the HTML, never in a header", () => {
  const name = '<b>Eve</b>\r\nBcc: evil@example.com\r\n\r\n"x"';
  const m = messages.passwordChanged(
    recipientOf({ email: "eve@example.com", name, email_verified_at: 1 }),
    CONTEXT,
  );
  assert.equal(m.to, "eve@example.com");
  assert.ok(m.text.startsWith('Hello <b>Eve</b> Bcc: evil@example.com "x",\n'), m.text);
  assert.match(
    m.html,
    /<p>Hello &lt;b&gt;Eve&lt;\/b&gt; Bcc: evil@example\.com &quot;x&quot;,<\/p>/,
  );
  assert.doesNotMatch(m.subject + m.to, /Eve|evil/);
  const unnamed = messages.passwordChanged(
    recipientOf({ email: "a@example.com", name: null, email_verified_at: 1 }),
    CONTEXT,
  );
  assert.doesNotMatch(unnamed.text, /Hello/);
  // An unverified address's name is whoever registered it: no greeting with it.
  const unverified = messages.passwordChanged(
    recipientOf({ email: "a@example.com", name: "Visit evil.example", email_verified_at: null }),
    CONTEXT,
  );
  assert.doesNotMatch(unverified.text + unverified.html, /evil/);
});
