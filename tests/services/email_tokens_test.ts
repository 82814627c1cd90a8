import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { createServices } from "../../src/services/container.ts";
import { createEmailTokens, EMAIL_TOKEN_TTL_MS } from "../../src/services/email_tokens.ts";
import { registerUser } from "../support/auth_support.ts";
import { buildTestApp } from "../support/helpers.ts";

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 11, 3));
  const t = await buildTestApp({}, { clock });
  const tokens = createEmailTokens({ db: t.deps.db, clock, pepper: createServices(t.deps).pepper });
  const user = await registerUser(t);
  return { t, clock, tokens, user };
}

Deno.test("an email token is 32 random bytes, stored only as a keyed hash, single use", async () => {
  const { t, tokens, user } = await setup();
  try {
    const token = await tokens.issue(t.deps.db, user.id, "verify_email");
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    // Registration queued a verification token too; this one replaced it.
    const rows = await t.deps.db.selectFrom("email_tokens").selectAll()
      .where("used_at", "is", null).execute();
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0].token_hash, token);
    assert.ok(!JSON.stringify(rows).includes(token));
    assert.deepEqual(await tokens.consume(token, "verify_email"), {
      userId: user.id,
      newEmail: null,
    });
    assert.equal(await tokens.consume(token, "verify_email"), undefined, "used");
  } finally {
    await t.close();
  }
});

Deno.test("a token works only for its purpose, until its expiry, and only the newest of a purpose", async () => {
  const { t, clock, tokens, user } = await setup();
  try {
    const reset = await tokens.issue(t.deps.db, user.id, "password_reset");
    assert.equal(await tokens.consume(reset, "verify_email"), undefined, "another purpose");
    const newer = await tokens.issue(t.deps.db, user.id, "password_reset");
    assert.equal(await tokens.consume(reset, "password_reset"), undefined, "an older link");
    clock.advance(EMAIL_TOKEN_TTL_MS.password_reset);
    assert.equal(await tokens.consume(newer, "password_reset"), undefined, "expired");
    const change = await tokens.issue(t.deps.db, user.id, "email_change", "new@example.com");
    assert.deepEqual(await tokens.consume(change, "email_change"), {
      userId: user.id,
      newEmail: "new@example.com",
    });
    assert.equal(await tokens.consume("not-a-token", "email_change"), undefined);
  } finally {
    await t.close();
  }
});

Deno.test("two concurrent consumptions of one token: exactly one succeeds", async () => {
  const { t, tokens, user } = await setup();
  try {
    const token = await tokens.issue(t.deps.db, user.id, "unlock");
    const results = await Promise.all(
      Array.from({ length: 8 }, () => tokens.consume(token, "unlock")),
    );
    assert.equal(results.filter((r) => r !== undefined).length, 1);
  } finally {
    await t.close();
  }
});
