import assert from "node:assert/strict";
import { toBase64Url } from "../../src/lib/crypto.ts";
import { buildTestApp } from "../support/helpers.ts";
import { serveOnLoopback } from "../support/loopback.ts";
import { adminSession, STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * The same bytes under another text: the last character with its lowest bit flipped,
 * which a lenient decoder ignores whenever the length is not a multiple of 4.
 */
function unusedBitFlipped(text: string): string {
  assert.notEqual(text.length % 4, 0, "the last character must carry unused bits");
  return text.slice(0, -1) + ALPHABET[ALPHABET.indexOf(text.at(-1)!) ^ 1];
}

Deno.test("a bearer token whose signature differs only in unused trailing bits is refused over HTTP", async () => {
  const t = await buildTestApp();
  try {
    await using server = serveOnLoopback(t.app);
    const post = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const email = uniqueEmail("malleable");
    const registered = await post("/api/v1/auth/register", { email, password: STRONG_PASSWORD });
    assert.equal(registered.status, 201);
    await registered.body?.cancel();
    const login = await post("/api/v1/auth/login", { email, password: STRONG_PASSWORD });
    const token: string = (await login.json()).access_token;
    const me = (bearer: string) =>
      fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${bearer}` } });

    const genuine = await me(token);
    assert.equal(genuine.status, 200);
    await genuine.body?.cancel();
    // A 32-byte HS256 signature is 43 characters: the last one has two unused bits.
    const forged = await me(unusedBitFlipped(token));
    assert.equal(forged.status, 401);
    assert.equal((await forged.json()).code, "invalid_token");
  } finally {
    await t.close();
  }
});

const CURSORS: Array<[string, string, string]> = [
  // [listing, path, canonical cursor]; both cursors decode to a valid position.
  ["admin users", "/api/v1/admin/users", toBase64Url(new TextEncoder().encode(`[1,"x"]`))],
  ["admin audit", "/api/v1/admin/audit", toBase64Url(new TextEncoder().encode(`{"s":1}`))],
];
for (const [listing, path, cursor] of CURSORS) {
  Deno.test(`the ${listing} listing refuses a cursor that differs only in unused trailing bits`, async () => {
    const t = await buildTestApp();
    try {
      const { tokens } = await adminSession(t, "super_admin");
      await using server = serveOnLoopback(t.app);
      const list = (value: string) =>
        fetch(`${server.url}${path}?cursor=${value}`, {
          headers: { authorization: `Bearer ${tokens.access_token}` },
        });
      const canonical = await list(cursor);
      assert.equal(canonical.status, 200, await canonical.text());
      const forged = await list(unusedBitFlipped(cursor));
      assert.equal(forged.status, 422);
      const body = await forged.json();
      assert.equal(body.code, "validation_failed");
      assert.deepEqual(body.errors.map((e: { field: string }) => e.field), ["cursor"]);
    } finally {
      await t.close();
    }
  });
}
