import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { runCli } from "../support/helpers.ts";

Deno.test("secret prints 64 fresh random bytes in base64, different every time", async () => {
  const [first, second] = await Promise.all([runCli(["secret"]), runCli(["secret"])]);
  for (const result of [first, second]) {
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^[A-Za-z0-9+/]{86}==\n$/);
    assert.equal(Buffer.from(result.stdout.trim(), "base64").length, 64);
  }
  assert.notEqual(first.stdout, second.stdout);
});

Deno.test("secret takes no arguments", async () => {
  const result = await runCli(["secret", "--length", "16"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
});
