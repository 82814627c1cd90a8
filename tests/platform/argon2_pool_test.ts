import assert from "node:assert/strict";
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";
import { argon2Pool } from "../../src/platform/argon2_pool.ts";

const CHEAP = { memoryKib: 1024, timeCost: 1, parallelism: 1 };

Deno.test("argon2Pool() writes hashes the native hasher verifies, and verifies the native hasher's", async () => {
  const pool = argon2Pool(CHEAP, { size: 2 });
  const native = nativeArgon2(CHEAP);
  try {
    const pooled = await pool.hash("correct horse battery staple");
    assert.match(pooled, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    assert.equal(await native.verify(pooled, "correct horse battery staple"), true);
    const direct = await native.hash("another password 42");
    assert.equal(await pool.verify(direct, "another password 42"), true);
    assert.equal(await pool.verify(direct, "another password 43"), false);
    assert.equal(await pool.verify("not a hash", "x"), false, "malformed hashes verify nothing");
  } finally {
    pool.close();
  }
});

Deno.test("argon2Pool() answers every one of many concurrent jobs with its own result", async () => {
  const pool = argon2Pool(CHEAP, { size: 2 });
  try {
    const passwords = Array.from({ length: 12 }, (_, i) => `password number ${i}`);
    const hashes = await Promise.all(passwords.map((p) => pool.hash(p)));
    assert.equal(new Set(hashes).size, 12, "each hash has its own salt");
    const checks = await Promise.all(
      hashes.flatMap((
        h,
        i,
      ) => [pool.verify(h, passwords[i]), pool.verify(h, passwords[(i + 1) % 12])]),
    );
    assert.deepEqual(checks, hashes.flatMap(() => [true, false]));
  } finally {
    pool.close();
  }
});

Deno.test("argon2Pool() runs at most `size` hashes at once: with one thread they take turns", async () => {
  const params = { memoryKib: 8192, timeCost: 2, parallelism: 1 };
  const single = argon2Pool(params, { size: 1 });
  try {
    const phc = await single.hash("warm up the thread");
    let t = performance.now();
    await single.verify(phc, "one");
    const one = performance.now() - t;
    t = performance.now();
    await Promise.all([1, 2, 3, 4].map((n) => single.verify(phc, `x${n}`)));
    const four = performance.now() - t;
    assert.ok(four >= 3 * one, `4 jobs on 1 thread took ${four} ms, one took ${one} ms`);
  } finally {
    single.close();
  }
});

Deno.test("close() ends the threads and refuses further work", async () => {
  const pool = argon2Pool(CHEAP, { size: 1 });
  const phc = await pool.hash("before close");
  pool.close();
  await assert.rejects(pool.hash("after close"), /closed/);
  assert.equal(await pool.verify(phc, "before close"), false, "verify fails closed");
});
