import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";
import { argon2ParamsOf, type PasswordHasher } from "../../src/platform/password_hasher.ts";
import {
  dummyVerify,
  hashPassword,
  isBcryptHash,
  verifyPassword,
} from "../../src/services/passwords.ts";

const PASSWORD = "Vq7$kR2#pL9m";
const CURRENT = { memoryKib: 2048, timeCost: 2, parallelism: 1 };
const hasher = nativeArgon2(CURRENT);

// From the PHP manual's password_verify() example: a real `$2y$` hash made by PHP.
const PHP_2Y_HASH = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a";
const PHP_2Y_PASSWORD = "rasmuslerdorf";

const AS_IS = { ok: true, needsUpgrade: false };
const UPGRADE = { ok: true, needsUpgrade: true };
const REJECTED = { ok: false, needsUpgrade: false };

/** A real hasher that counts how often it hashes. */
function countingHasher(inner: PasswordHasher): PasswordHasher & { hashes: number } {
  const counted = {
    params: inner.params,
    hashes: 0,
    hash(password: string) {
      counted.hashes++;
      return inner.hash(password);
    },
    verify: (phc: string, password: string) => inner.verify(phc, password),
  };
  return counted;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

Deno.test("verifyPassword() accepts an argon2id hash with the current parameters as is", async () => {
  const stored = await hashPassword(PASSWORD, hasher);
  assert.deepEqual(argon2ParamsOf(stored), CURRENT);
  assert.deepEqual(await verifyPassword(stored, PASSWORD, hasher), AS_IS);
  assert.deepEqual(await verifyPassword(stored, "Vq7$kR2#pL9M", hasher), REJECTED);
});

Deno.test("verifyPassword() asks to upgrade argon2id hashes weaker than the current parameters", async () => {
  for (const weaker of [{ ...CURRENT, memoryKib: 1024 }, { ...CURRENT, timeCost: 1 }]) {
    const stored = await nativeArgon2(weaker).hash(PASSWORD);
    assert.deepEqual(await verifyPassword(stored, PASSWORD, hasher), UPGRADE);
    assert.deepEqual(await verifyPassword(stored, "wrong", hasher), REJECTED);
  }
});

Deno.test("verifyPassword() keeps argon2id hashes stronger than the current parameters", async () => {
  const stored = await nativeArgon2({ memoryKib: 4096, timeCost: 3, parallelism: 2 }).hash(
    PASSWORD,
  );
  assert.deepEqual(await verifyPassword(stored, PASSWORD, hasher), AS_IS);
});

Deno.test("verifyPassword() verifies legacy $2a$ and $2b$ bcrypt hashes and asks to upgrade them", async () => {
  const salt = await bcrypt.genSalt(4);
  assert.match(salt, /^\$2b\$04\$/);
  for (const prefix of ["$2a$", "$2b$"]) {
    const stored = await bcrypt.hash(PASSWORD, prefix + salt.slice(4));
    assert.ok(stored.startsWith(prefix) && isBcryptHash(stored), stored);
    assert.deepEqual(await verifyPassword(stored, PASSWORD, hasher), UPGRADE);
    assert.deepEqual(await verifyPassword(stored, PASSWORD + "x", hasher), REJECTED);
  }
});

Deno.test("verifyPassword() verifies a $2y$ bcrypt hash made by PHP", async () => {
  assert.ok(isBcryptHash(PHP_2Y_HASH));
  assert.deepEqual(await verifyPassword(PHP_2Y_HASH, PHP_2Y_PASSWORD, hasher), UPGRADE);
  assert.deepEqual(await verifyPassword(PHP_2Y_HASH, "Rasmuslerdorf", hasher), REJECTED);
});

Deno.test("verifyPassword() matches NFKC-equivalent input, for argon2id and for bcrypt typed raw", async () => {
  const fullWidth = "Ｖｑ７＄ｋＲ２＃ｐＬ９ｍ";
  const stored = await hashPassword(fullWidth, hasher);
  assert.equal((await verifyPassword(stored, PASSWORD, hasher)).ok, true);
  // An old system stored bcrypt of exactly what was typed, without normalising.
  const legacy = await bcrypt.hash(fullWidth, 4);
  assert.equal((await verifyPassword(legacy, fullWidth, hasher)).ok, true);
});

Deno.test("verifyPassword() rejects unknown hash formats", async () => {
  for (const stored of ["", "!", "plain-text-password", "$1$abc$def", "$2x$04$abc"]) {
    assert.deepEqual(await verifyPassword(stored, stored, hasher), REJECTED);
  }
});

Deno.test("dummyVerify() always fails and hashes its dummy only once per hasher", async () => {
  const counted = countingHasher(hasher);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await dummyVerify(PASSWORD, counted), REJECTED);
  }
  assert.equal(counted.hashes, 1);
});

Deno.test("dummyVerify() takes about as long as a wrong-password verification", async () => {
  const real = nativeArgon2({ memoryKib: 8192, timeCost: 2, parallelism: 1 });
  const stored = await hashPassword(PASSWORD, real);
  await dummyVerify(PASSWORD, real);
  const wrong: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 9; i++) {
    let started = performance.now();
    await verifyPassword(stored, "wrong password", real);
    wrong.push(performance.now() - started);
    started = performance.now();
    await dummyVerify("wrong password", real);
    unknown.push(performance.now() - started);
  }
  const ratio = median(unknown) / median(wrong);
  assert.ok(ratio > 0.6 && ratio < 1.6, `dummy/wrong time ratio ${ratio.toFixed(2)}`);
});
