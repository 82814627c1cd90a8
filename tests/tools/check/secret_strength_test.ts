import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  assessSecret,
  isPlaceholderSecret,
  lowEntropyReason,
  weakFieldKeyReason,
} from "../../../src/tools/check/secret_strength.ts";

const random = (bytes: number) => crypto.getRandomValues(new Uint8Array(bytes));

Deno.test("assessSecret() accepts every freshly generated secret: base64, base64url and hex", () => {
  const generators: Array<[string, () => string]> = [
    ["citadel secret (64 bytes base64)", () => Buffer.from(random(64)).toString("base64")],
    ["32 bytes base64url", () => Buffer.from(random(32)).toString("base64url")],
    ["openssl rand -hex 16", () => Buffer.from(random(16)).toString("hex")],
    ["openssl rand -hex 32", () => Buffer.from(random(32)).toString("hex")],
  ];
  for (const [name, generate] of generators) {
    for (let i = 0; i < 3000; i++) {
      const secret = generate();
      assert.deepEqual(assessSecret("JWT_SECRET_KEY", secret), {}, `${name}: ${secret}`);
    }
  }
});

Deno.test("isPlaceholderSecret() knows shipped placeholders and hand-written ones", () => {
  const placeholders = [
    "CHANGE-ME",
    "changeme",
    "your-secret",
    "secret",
    "Your_Secret_Key_Here",
    "supersecretkey",
    "change-me-in-production-please-0123456789",
    "my-super-secret-jwt-key-2024",
    "replace_me_with_a_long_random_string_of_64_chars",
    "jwtSecretKeyForDevelopmentOnly",
  ];
  for (const value of placeholders) assert.ok(isPlaceholderSecret(value), value);
  assert.equal(isPlaceholderSecret(Buffer.from(random(48)).toString("base64")), false);
});

Deno.test("lowEntropyReason() names why a long secret is still guessable", () => {
  const cases: Array<[string, RegExp]> = [
    ["ab".repeat(24), /only 2 distinct characters/],
    ["0123456789".repeat(4), /repeated or sequential/],
    ["test-secret-0123456789-abcdefghijklmnopqrstuvwxyz", /repeated or sequential/],
    ["a".repeat(30) + "bcdefghijk", /repeats a few characters/],
    ["Xq7#pL2m".repeat(5), /repeats a short pattern/],
    ["correct-horse-battery-staple-purple-monkey", /words rather than random bytes/],
    ["31415926535897932384626433832795028841", /at most 126 bits/],
  ];
  for (const [value, reason] of cases) {
    assert.match(lowEntropyReason(value) ?? "none", reason, value);
  }
});

Deno.test("assessSecret() describes a weak secret without ever repeating it", () => {
  const value = "hunter2-hunter2";
  const result = assessSecret("JWT_SECRET_KEY", value);
  assert.match(result.tooShort!, /^JWT_SECRET_KEY is 15 bytes long; at least 32 are needed$/);
  for (const message of Object.values(result)) assert.ok(!message.includes("hunter2"));
});

Deno.test("weakFieldKeyReason() accepts every random 32-byte key, base64 or base64url", () => {
  for (let i = 0; i < 3000; i++) {
    const key = random(32);
    for (
      const text of [Buffer.from(key).toString("base64"), Buffer.from(key).toString("base64url")]
    ) {
      assert.equal(weakFieldKeyReason(text, key), undefined, text);
    }
  }
});

Deno.test("weakFieldKeyReason() names a placeholder, typed text, few byte values or counting bytes", () => {
  const typed = new TextEncoder().encode("our-field-encryption-key-2026-01");
  const placeholder = new TextEncoder().encode("change-me-change-me-change-me-01");
  const counting = Uint8Array.from({ length: 32 }, (_, i) => i);
  const fewValues = Uint8Array.from({ length: 32 }, (_, i) => [0, 0xff, 7][i % 3]);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["changemechangemechangemechangemechangemech0=", random(32), /known placeholder/],
    [Buffer.from(placeholder).toString("base64"), placeholder, /placeholder encoded as base64/],
    [Buffer.from(typed).toString("base64"), typed, /typed text encoded as base64/],
    [Buffer.alloc(32).toString("base64"), new Uint8Array(32), /only 1 distinct byte value in 32/],
    [Buffer.from(fewValues).toString("base64"), fewValues, /only 3 distinct byte values in 32/],
    [Buffer.from(counting).toString("base64"), counting, /repeated or counting bytes/],
  ];
  for (const [text, bytes, reason] of cases) {
    assert.match(weakFieldKeyReason(text, bytes) ?? "none", reason, text);
  }
});
