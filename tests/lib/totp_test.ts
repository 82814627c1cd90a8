import assert from "node:assert/strict";
import * as OTPAuth from "otpauth";
import {
  fromBase32,
  generateTotpSecret,
  importTotpSecret,
  matchingStep,
  otpauthUri,
  toBase32,
  totpCode,
  totpStep,
} from "../../src/lib/totp.ts";

const encoder = new TextEncoder();
/** The SHA-1 seed of RFC 6238 Appendix B, "12345678901234567890" in ASCII. */
const RFC_SEED = toBase32(encoder.encode("12345678901234567890"));

/**
 * RFC 6238 Appendix B, SHA-1 rows: time (s), the time step T in hex, the 8-digit TOTP.
 * citadel's codes have 6 digits: the same truncated value mod 10^6, its last six digits.
 */
const RFC_6238_SHA1: Array<[number, number, string]> = [
  [59, 0x1, "94287082"],
  [1111111109, 0x23523EC, "07081804"],
  [1111111111, 0x23523ED, "14050471"],
  [1234567890, 0x273EF07, "89005924"],
  [2000000000, 0x3F940AA, "69279037"],
  [20000000000, 0x27BC86AA, "65353130"],
];

/** The code an authenticator app shows: the npm `otpauth` package, not our implementation. */
const appCode = (secret: string, timestamp: number) =>
  new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) }).generate({ timestamp });

const randomInt = (below: number) => crypto.getRandomValues(new Uint32Array(1))[0] % below;

Deno.test("the RFC 6238 seed is the RFC 4648 base32 of its ASCII bytes", () => {
  assert.equal(RFC_SEED, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  assert.deepEqual(fromBase32(RFC_SEED), encoder.encode("12345678901234567890"));
});

Deno.test("totpCode() and matchingStep() give the RFC 6238 Appendix B SHA-1 values, six digits", async () => {
  const key = await importTotpSecret(RFC_SEED);
  for (const [seconds, step, eightDigits] of RFC_6238_SHA1) {
    const sixDigits = eightDigits.slice(-6);
    assert.equal(totpStep(seconds * 1000), step, `T at ${seconds}`);
    assert.equal(await totpCode(key, step), sixDigits, `code at ${seconds}`);
    assert.equal(await matchingStep(RFC_SEED, sixDigits, seconds * 1000), step, `${seconds}`);
    // The independent implementation agrees on the same rows.
    assert.equal(appCode(RFC_SEED, seconds * 1000), sixDigits, `otpauth at ${seconds}`);
  }
});

Deno.test("toBase32() and fromBase32() match the RFC 4648 test vectors, unpadded", () => {
  const vectors: Array<[string, string]> = [
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ];
  for (const [text, base32] of vectors) {
    assert.equal(toBase32(encoder.encode(text)), base32, JSON.stringify(text));
    assert.deepEqual(fromBase32(base32), encoder.encode(text), base32);
  }
});

Deno.test("fromBase32() reverses toBase32() for every length of random bytes", () => {
  for (let length = 0; length <= 64; length++) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    const text = toBase32(bytes);
    assert.match(text, /^[A-Z2-7]*$/);
    assert.equal(text.length, Math.ceil((length * 8) / 5), `length ${length}`);
    assert.deepEqual(fromBase32(text), bytes, `length ${length}`);
  }
});

Deno.test("fromBase32() refuses characters outside the upper-case RFC 4648 alphabet", () => {
  const invalid = [
    "mzxw6", // lower case is not what toBase32 writes
    "MY======", // padding
    "MZXW0", // 0, 1, 8 and 9 are not in the alphabet
    "MZXW1",
    "MZXW8",
    "MZXW9",
    "MZX W6",
    "MZXW6-",
    "MZXW6\n",
    "MZXWÉ",
    "ＭＹ", // full-width letters
  ];
  for (const text of invalid) {
    assert.throws(() => fromBase32(text), /Invalid base32/, JSON.stringify(text));
  }
});

Deno.test("generateTotpSecret() gives 160 random bits as 32 base32 characters, new each time", () => {
  const secrets = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const secret = generateTotpSecret();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(fromBase32(secret).length, 20);
    assert.equal(toBase32(fromBase32(secret)), secret);
    secrets.add(secret);
  }
  assert.equal(secrets.size, 200);
});

Deno.test("matchingStep() accepts the current step and one either way, and refuses two away", async () => {
  // The RFC seed at fixed times, so no two steps of the window share a code by chance.
  for (const nowMs of [1111111109_000, 1234567890_000, 1234567890_000 + 29_999]) {
    const now = totpStep(nowMs);
    const periodStart = now * 30_000;
    const at = (offset: number) => periodStart + offset * 30_000;
    const codes = [-2, -1, 0, 1, 2].map((offset) => appCode(RFC_SEED, at(offset)));
    assert.equal(new Set(codes).size, 5, "the five codes differ");
    for (const offset of [-1, 0, 1]) {
      assert.equal(
        await matchingStep(RFC_SEED, appCode(RFC_SEED, at(offset)), nowMs),
        now + offset,
        `offset ${offset} at ${nowMs}`,
      );
    }
    for (const offset of [-2, 2]) {
      assert.equal(
        await matchingStep(RFC_SEED, appCode(RFC_SEED, at(offset)), nowMs),
        undefined,
        `offset ${offset} at ${nowMs}`,
      );
    }
    // With no skew allowed only the current step passes.
    assert.equal(await matchingStep(RFC_SEED, codes[2], nowMs, 0), now);
    assert.equal(await matchingStep(RFC_SEED, codes[1], nowMs, 0), undefined);
  }
});

Deno.test("matchingStep() refuses anything but exactly six ASCII digits, even around the right code", async () => {
  const nowMs = 1234567890_000;
  const right = appCode(RFC_SEED, nowMs);
  assert.equal(right, "005924");
  assert.equal(await matchingStep(RFC_SEED, right, nowMs), totpStep(nowMs));
  const fullWidth = [...right].map((d) => String.fromCharCode(0xff10 + Number(d))).join("");
  const arabicIndic = [...right].map((d) => String.fromCharCode(0x0660 + Number(d))).join("");
  const malformed = [
    "",
    right.slice(1), // five digits
    right + "0", // seven digits
    "89005924", // the RFC's eight-digit value, whose last six are the right code
    ` ${right}`,
    `${right} `,
    `${right}\n`,
    `${right.slice(0, 5)}a`,
    `+${right.slice(1)}`,
    "5924", // the number without its leading zeros
    fullWidth,
    arabicIndic,
  ];
  for (const code of malformed) {
    assert.equal(await matchingStep(RFC_SEED, code, nowMs), undefined, JSON.stringify(code));
  }
});

Deno.test("totpCode() agrees with the npm otpauth package for random secrets and times", async () => {
  for (let i = 0; i < 200; i++) {
    // Half the seeds are ours, half otpauth's own (so our decoder reads its base32 too).
    const secret = i % 2 === 0 ? generateTotpSecret() : new OTPAuth.Secret({ size: 20 }).base32;
    // Any moment from 1970 to about 2106 (the unsigned 32-bit seconds range), to the ms.
    const timestamp = randomInt(2 ** 32) * 1000 + randomInt(1000);
    const key = await importTotpSecret(secret);
    const expected = appCode(secret, timestamp);
    const context = `secret ${secret} at ${timestamp}`;
    assert.equal(await totpCode(key, totpStep(timestamp)), expected, context);
    const step = await matchingStep(secret, expected, timestamp);
    assert.ok(step !== undefined && Math.abs(step - totpStep(timestamp)) <= 1, context);
    // An app whose clock is one step behind or ahead is still accepted.
    assert.notEqual(
      await matchingStep(secret, appCode(secret, timestamp - 30_000), timestamp),
      undefined,
      context,
    );
    assert.notEqual(
      await matchingStep(secret, appCode(secret, timestamp + 30_000), timestamp),
      undefined,
      context,
    );
  }
});

Deno.test("otpauthUri() is a key URI naming issuer, account and the RFC 6238 defaults", () => {
  const secret = generateTotpSecret();
  const url = new URL(otpauthUri("citadel", "ada@example.com", secret));
  assert.equal(url.protocol, "otpauth:");
  assert.equal(url.host, "totp");
  assert.equal(decodeURIComponent(url.pathname), "/citadel:ada@example.com");
  assert.equal(url.searchParams.get("secret"), secret);
  assert.equal(url.searchParams.get("issuer"), "citadel");
  assert.equal(url.searchParams.get("algorithm"), "SHA1");
  assert.equal(url.searchParams.get("digits"), "6");
  assert.equal(url.searchParams.get("period"), "30");
});

Deno.test("otpauthUri() is read back by the otpauth package, spaces and symbols included", async () => {
  const secret = generateTotpSecret();
  const cases: Array<[string, string]> = [
    ["citadel", "ada@example.com"],
    ["Acme Corp", "ada+mfa@example.com"],
    // The Key URI Format allows no colon in either: it separates them in the label.
    ["Acme & Sons / Ops #1?", "o'brien%x=y&z@example.com"],
  ];
  for (const [issuer, account] of cases) {
    const uri = otpauthUri(issuer, account, secret);
    const parsed = OTPAuth.URI.parse(uri);
    assert.ok(parsed instanceof OTPAuth.TOTP, uri);
    assert.equal(parsed.issuer, issuer, uri);
    assert.equal(parsed.label, account, uri);
    assert.equal(parsed.secret.base32, secret, uri);
    assert.equal(parsed.algorithm, "SHA1", uri);
    assert.equal(parsed.digits, 6, uri);
    assert.equal(parsed.period, 30, uri);
    // What an app that scanned the code shows is what the server accepts.
    const timestamp = Date.now();
    const step = await matchingStep(secret, parsed.generate({ timestamp }), timestamp);
    assert.ok(step !== undefined && Math.abs(step - totpStep(timestamp)) <= 1, uri);
  }
});
