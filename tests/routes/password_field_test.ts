import assert from "node:assert/strict";
import { buildTestApp } from "../support/helpers.ts";
import { serveOnLoopback } from "../support/loopback.ts";
import { login, registerUser, STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";

/** Ends in a lone high surrogate: TextEncoder would hash it as U+FFFD, like `\udfff`. */
const LONE_SURROGATE = `${STRONG_PASSWORD}\ud800`;
const MESSAGE = "must be well-formed Unicode (no lone surrogates)";

Deno.test("every endpoint taking a password refuses one with a lone surrogate (422 on that field)", async () => {
  const t = await buildTestApp();
  try {
    const email = uniqueEmail("surrogate");
    await registerUser(t, email);
    const { access_token } = await login(t, email);
    await using server = serveOnLoopback(t.app);
    const cases: Array<[string, Record<string, unknown>, string[]]> = [
      ["/api/v1/auth/register", { email: uniqueEmail(), password: LONE_SURROGATE }, ["password"]],
      ["/api/v1/auth/login", { email, password: LONE_SURROGATE }, ["password"]],
      ["/api/v1/me/password", {
        current_password: LONE_SURROGATE,
        new_password: "Amber-Falcon-Ridge-93?\udfff",
      }, ["current_password", "new_password"]],
    ];
    for (const [path, body, fields] of cases) {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${access_token}` },
        // JSON.stringify escapes a lone surrogate as \ud800, which JSON.parse restores.
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 422, path);
      assert.equal(response.headers.get("content-type"), "application/problem+json", path);
      const problem = await response.json();
      assert.equal(problem.code, "validation_failed", path);
      assert.deepEqual(
        problem.errors.map((e: { field: string; message: string }) => [e.field, e.message]),
        fields.map((field) => [field, MESSAGE]),
        path,
      );
    }
    // The account and its password are untouched: the real password still logs in.
    assert.equal((await login(t, email)).token_type, "Bearer");
  } finally {
    await t.close();
  }
});
