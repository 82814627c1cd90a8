/**
 * What the console's ceremony endpoints share (passkey_parts.tsx): whatever goes wrong in one
 * is answered as JSON the console script can read. A refusal keeps its status and code; an
 * unexpected failure is the API's own 500 (problem+json with the request id, logged), never
 * the HTML error page.
 */
import assert from "node:assert/strict";
import { registerUser } from "../support/auth_support.ts";
import { CONSOLE_COOKIE, setCookieOf, signIn } from "../support/console_support.ts";
import { buildTestApp } from "../support/helpers.ts";
import { assertProblem } from "../support/mfa_support.ts";
import { addPasskey, passkeySignIn } from "../support/console_passkey_support.ts";

Deno.test("an unexpected failure inside a ceremony endpoint answers problem+json 500 internal_error with the request id, logged with it, not the HTML error page", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const { auth } = await addPasskey(t, await signIn(t, user.email));
    // The API completes the sign-in; opening the console session on it then fails.
    await t.deps.db.schema.dropTable("console_sessions").execute();
    const res = await passkeySignIn(t, auth);
    assert.equal(setCookieOf(res, CONSOLE_COOKIE), undefined);
    const problem = await assertProblem(res, 500, "internal_error");
    assert.equal(problem.detail, "The server could not complete the request");
    assert.match(problem.request_id ?? "", /\S/, "the request id to quote");
    assert.equal(res.headers.get("x-request-id"), problem.request_id);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the logger flushes every 1 ms
    const logged = t.logs.map((line) => JSON.parse(line)).filter((entry) =>
      entry.msg === "unhandled error"
    );
    assert.equal(logged.length, 1, t.logs.join("\n"));
    assert.equal(logged[0].request_id, problem.request_id);
    assert.equal(logged[0].path, "/account/sign-in/passkey");
    assert.doesNotMatch(JSON.stringify(problem), /console_sessions|SQL/i, "nothing internal");
  } finally {
    await t.close();
  }
});
