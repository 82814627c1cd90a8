import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../src/config.ts";

const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const random = (n: number) => base64(crypto.getRandomValues(new Uint8Array(n)));

function refusal(env: Record<string, string>): ConfigError {
  try {
    parseConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error;
  }
  assert.fail("accepted");
}

Deno.test("parseConfig() leaves ENCRYPTION_KEY and ENCRYPTION_KEY_PREVIOUS unset by default", () => {
  const config = parseConfig({});
  assert.equal(config.encryption.key, undefined);
  assert.equal(config.encryption.previousKey, undefined);
});

Deno.test("parseConfig() accepts 32-byte keys in standard or url-safe base64", () => {
  const key = random(32);
  const previous = random(32).replaceAll("+", "-").replaceAll("/", "_").replace(/=$/, "");
  const config = parseConfig({ ENCRYPTION_KEY: key, ENCRYPTION_KEY_PREVIOUS: previous });
  assert.equal(config.encryption.key, key);
  assert.equal(config.encryption.previousKey, previous);
});

for (const variable of ["ENCRYPTION_KEY", "ENCRYPTION_KEY_PREVIOUS"]) {
  const cases: Array<[string, string, RegExp]> = [
    ["a 16-byte key", random(16), /must be 32 bytes in base64, but it decodes to 16 bytes/],
    ["a 64-byte key (what `citadel secret` prints)", random(64), /decodes to 64 bytes/],
    ["text that is not base64", "correct horse battery staple!!", /is not base64/],
  ];
  for (const [what, value, problem] of cases) {
    Deno.test(`parseConfig() refuses ${what} as ${variable}, naming it and the fix`, () => {
      const error = refusal({ [variable]: value });
      assert.deepEqual(error.problems.map((p) => p.variable), [variable]);
      assert.match(error.problems[0].problem, problem);
      assert.match(error.problems[0].fix, /openssl rand -base64 32/);
      assert.match(error.message, new RegExp(`^${variable}: `));
      assert.ok(!error.message.includes(value), "the refused value is not echoed");
    });
  }
}
