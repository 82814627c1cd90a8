import assert from "node:assert/strict";
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";
import { boundedHasher } from "../../src/platform/bounded_hasher.ts";
import type { PasswordHasher } from "../../src/platform/password_hasher.ts";

const CHEAP = { memoryKib: 1024, timeCost: 1, parallelism: 1 };

/** The real native hasher, recording how many of its calls run at once and in what order. */
function observed(inner: PasswordHasher) {
  const stats = { running: 0, peak: 0, started: [] as string[] };
  const track = async <T>(label: string, work: () => Promise<T>) => {
    stats.started.push(label);
    stats.peak = Math.max(stats.peak, ++stats.running);
    try {
      return await work();
    } finally {
      stats.running--;
    }
  };
  const hasher: PasswordHasher = {
    params: inner.params,
    hash: (p) => track(`hash:${p}`, () => inner.hash(p)),
    verify: (phc, p) => track(`verify:${p}`, () => inner.verify(phc, p)),
  };
  return { hasher, stats };
}

Deno.test("boundedHasher() runs at most `max` calls at once and starts the rest in order", async () => {
  const { hasher, stats } = observed(nativeArgon2(CHEAP));
  const bounded = boundedHasher(hasher, 2);
  const phc = await bounded.hash("right");
  stats.started.length = 0;
  const guesses = Array.from({ length: 10 }, (_, i) => (i % 3 === 0 ? "right" : `wrong${i}`));
  const results = await Promise.all(guesses.map((g) => bounded.verify(phc, g)));
  assert.deepEqual(results, guesses.map((g) => g === "right"));
  assert.equal(stats.peak, 2);
  assert.deepEqual(stats.started, guesses.map((g) => `verify:${g}`));
});

Deno.test("boundedHasher() frees the slot when a call fails, and writes ordinary PHC strings", async () => {
  const bounded = boundedHasher(nativeArgon2(CHEAP), 1);
  await assert.rejects(bounded.hash(undefined as unknown as string));
  const next = bounded.hash("after a failure");
  const phc = await Promise.race([
    next,
    new Promise<never>((_, reject) => {
      const timer = setTimeout(() => reject(new Error("the slot was not freed")), 5000);
      next.finally(() => clearTimeout(timer));
    }),
  ]);
  assert.match(phc, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
  assert.equal(await nativeArgon2(CHEAP).verify(phc, "after a failure"), true);
});

Deno.test("boundedHasher() refuses a bound that is not a positive whole number", () => {
  for (const max of [0, -1, 1.5, NaN]) {
    assert.throws(() => boundedHasher(nativeArgon2(CHEAP), max), RangeError);
  }
});
