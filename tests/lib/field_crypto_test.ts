import assert from "node:assert/strict";
import { fromBase64Url, toBase64Url } from "../../src/lib/crypto.ts";
import {
  createFieldCipher,
  type FieldContext,
  FieldCryptoError,
  parseFieldKey,
} from "../../src/lib/field_crypto.ts";

const key = () => crypto.getRandomValues(new Uint8Array(32));
const SEED = "JBSWY3DPEHPK3PXP-totp-seed";
const ROW: FieldContext = { table: "mfa_factors", column: "secret", rowId: crypto.randomUUID() };
const OTHER_ROW: FieldContext = { ...ROW, rowId: crypto.randomUUID() };

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FieldCryptoError, `FieldCryptoError, not ${error}`);
    return error.message;
  }
  assert.fail("decrypted");
}

/** The envelope with one character of part `part` replaced by another base64url character. */
function tampered(envelope: string, part: number, at: number): string {
  const parts = envelope.split(".");
  const text = parts[part];
  parts[part] = text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
  return parts.join(".");
}

Deno.test("encrypt() then decrypt() gives the plaintext back, as a v1 envelope", async () => {
  const cipher = await createFieldCipher({ current: key() });
  const envelope = await cipher.encrypt(SEED, ROW);
  const [version, kid, nonce, sealed] = envelope.split(".");
  assert.equal(version, "v1");
  assert.equal(kid, cipher.currentKeyId);
  assert.equal(fromBase64Url(nonce).length, 12);
  assert.equal(fromBase64Url(sealed).length, new TextEncoder().encode(SEED).length + 16);
  assert.equal(await cipher.decrypt(envelope, ROW), SEED);
  assert.equal(await cipher.decrypt(await cipher.encrypt("", ROW), ROW), "");
  const unicode = "clé privée ✓ 🔑";
  assert.equal(await cipher.decrypt(await cipher.encrypt(unicode, ROW), ROW), unicode);
});

Deno.test("encrypt() uses a fresh nonce: the same plaintext twice gives two envelopes", async () => {
  const cipher = await createFieldCipher({ current: key() });
  const envelopes = await Promise.all([1, 2, 3].map(() => cipher.encrypt(SEED, ROW)));
  assert.equal(new Set(envelopes).size, 3);
  assert.equal(new Set(envelopes.map((e) => e.split(".")[2])).size, 3);
});

Deno.test("the plaintext's bytes appear nowhere in the envelope", async () => {
  const cipher = await createFieldCipher({ current: key() });
  const envelope = await cipher.encrypt(SEED, ROW);
  const bytes = new TextEncoder().encode(SEED);
  assert.ok(!envelope.includes(SEED));
  assert.ok(!envelope.includes(toBase64Url(bytes).slice(0, 12)));
  const sealed = new TextDecoder("latin1").decode(fromBase64Url(envelope.split(".")[3]));
  assert.ok(!sealed.includes(SEED.slice(0, 6)));
});

Deno.test("decrypt() refuses an envelope with any character of kid, nonce or ciphertext changed", async () => {
  const cipher = await createFieldCipher({ current: key() });
  const envelope = await cipher.encrypt(SEED, ROW);
  const parts = envelope.split(".");
  for (const part of [1, 2, 3]) {
    for (let at = 0; at < parts[part].length; at++) {
      const changed = tampered(envelope, part, at);
      assert.notEqual(changed, envelope);
      await refusal(cipher.decrypt(changed, ROW));
    }
  }
  for (const broken of ["", "v1", "v2" + envelope.slice(2), envelope + ".x", envelope + "="]) {
    await refusal(cipher.decrypt(broken, ROW));
  }
});

Deno.test("decrypt() refuses two rows' ciphertexts swapped, each in the other's row", async () => {
  const cipher = await createFieldCipher({ current: key() });
  const first = await cipher.encrypt(SEED, ROW);
  const second = await cipher.encrypt("another-seed", OTHER_ROW);
  assert.match(await refusal(cipher.decrypt(first, OTHER_ROW)), /copied from another row/);
  assert.match(await refusal(cipher.decrypt(second, ROW)), /mfa_factors\.secret of row/);
  assert.equal(await cipher.decrypt(first, ROW), SEED);
});

Deno.test("decrypt() refuses a ciphertext moved to another column or table of the same row", async () => {
  const cipher = await createFieldCipher({ current: key() });
  const envelope = await cipher.encrypt(SEED, ROW);
  await refusal(cipher.decrypt(envelope, { ...ROW, column: "recovery_secret" }));
  await refusal(cipher.decrypt(envelope, { ...ROW, table: "oauth_accounts" }));
});

Deno.test("the previous key decrypts, and needsReencrypt() is true only for its envelopes", async () => {
  const [k1, k2] = [key(), key()];
  const before = await createFieldCipher({ current: k1 });
  const old = await before.encrypt(SEED, ROW);
  assert.equal(before.needsReencrypt(old), false);

  const after = await createFieldCipher({ current: k2, previous: k1 });
  assert.equal(after.previousKeyId, before.currentKeyId);
  assert.notEqual(after.currentKeyId, before.currentKeyId);
  assert.equal(await after.decrypt(old, ROW), SEED);
  assert.equal(after.needsReencrypt(old), true);
  const fresh = await after.encrypt(SEED, ROW);
  assert.equal(fresh.split(".")[1], after.currentKeyId);
  assert.equal(after.needsReencrypt(fresh), false);
});

Deno.test("a key id is derived from the key: the same key gives the same id, another another", async () => {
  const k = key();
  const [a, b, c] = await Promise.all(
    [k, k.slice(), key()].map((current) => createFieldCipher({ current })),
  );
  assert.equal(a.currentKeyId, b.currentKeyId);
  assert.notEqual(a.currentKeyId, c.currentKeyId);
  assert.equal(fromBase64Url(a.currentKeyId).length, 8);
  const same = await createFieldCipher({ current: k, previous: k.slice() });
  assert.equal(same.previousKeyId, undefined);
});

Deno.test("decrypt() and needsReencrypt() refuse an unknown key id, saying which settings to set", async () => {
  const envelope = await (await createFieldCipher({ current: key() })).encrypt(SEED, ROW);
  const other = await createFieldCipher({ current: key(), previous: key() });
  const message = await refusal(other.decrypt(envelope, ROW));
  assert.match(message, /unknown key id/);
  assert.match(message, /ENCRYPTION_KEY or ENCRYPTION_KEY_PREVIOUS/);
  assert.throws(() => other.needsReencrypt(envelope), FieldCryptoError);
});

Deno.test("createFieldCipher() refuses a key that is not 32 bytes", async () => {
  await assert.rejects(createFieldCipher({ current: new Uint8Array(16) }), /32 bytes/);
  await assert.rejects(
    createFieldCipher({ current: key(), previous: new Uint8Array(31) }),
    /previous field-encryption key must be 32 bytes/,
  );
});

Deno.test("parseFieldKey() accepts base64 of 32 bytes, standard or url-safe, padded or not", () => {
  const bytes = key();
  bytes[0] = 0xfb; // "+" or "-" in the first character
  bytes[1] = 0xff;
  const url = toBase64Url(bytes);
  const standard = url.replaceAll("-", "+").replaceAll("_", "/");
  for (const text of [url, url + "=", standard, standard + "="]) {
    const parsed = parseFieldKey(text);
    assert.ok("key" in parsed, text);
    assert.deepEqual(parsed.key, bytes);
  }
  const cases: Array<[string, RegExp]> = [
    [toBase64Url(key().slice(0, 16)), /decodes to 16 bytes, not 32/],
    [toBase64Url(new Uint8Array(64)), /decodes to 64 bytes/],
    ["not base64 at all!", /is not base64/],
    [url.slice(0, 20) + "+" + url.slice(21, 30) + "_" + url.slice(31), /is not base64/],
    [url + "==", /is not base64/],
    ["", /decodes to 0 bytes/],
  ];
  for (const [text, problem] of cases) {
    const parsed = parseFieldKey(text);
    assert.ok("problem" in parsed, text);
    assert.match(parsed.problem, problem);
  }
});
