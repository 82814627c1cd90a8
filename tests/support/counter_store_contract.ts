import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import type { CounterStore } from "../../src/platform/counter_store.ts";

/** An open store under test and how to dispose of it. */
export interface StoreFixture {
  store: CounterStore;
  close(): Promise<void>;
}

/** Options of {@linkcode counterStoreContract}. */
export interface ContractOptions {
  /** False for stores whose entries expire by themselves (redis): cleanup() returns 0. */
  cleansUp: boolean;
  /** Deno.test options (e.g. sanitizers) for every case. */
  sanitizeResources?: boolean;
}

const MINUTE = 60_000;

/**
 * Registers the behaviour every CounterStore must show, so memory, database and redis
 * are held to one specification.
 */
export function counterStoreContract(
  name: string,
  open: (clock: ManualClock) => Promise<StoreFixture>,
  options: ContractOptions,
): void {
  const test = (title: string, body: (store: CounterStore, clock: ManualClock) => Promise<void>) =>
    Deno.test({
      name: `${name}: ${title}`,
      sanitizeResources: options.sanitizeResources ?? true,
      async fn() {
        const clock = new ManualClock(Date.UTC(2026, 0, 1));
        const fixture = await open(clock);
        try {
          await body(fixture.store, clock);
        } finally {
          await fixture.close();
        }
      },
    });

  test("hit() counts within a window and reports when it ends", async (store, clock) => {
    const start = clock.now();
    assert.deepEqual(await store.hit("a", MINUTE), { count: 1, resetAt: start + MINUTE });
    clock.advance(10_000);
    assert.deepEqual(await store.hit("a", MINUTE), { count: 2, resetAt: start + MINUTE });
    assert.deepEqual(await store.hit("a", MINUTE, 3), { count: 5, resetAt: start + MINUTE });
    assert.deepEqual(await store.hit("b", MINUTE), { count: 1, resetAt: clock.now() + MINUTE });
  });

  test("hit() starts a new window exactly when the old one ends", async (store, clock) => {
    const start = clock.now();
    await store.hit("k", MINUTE, 4);
    clock.set(start + MINUTE - 1);
    assert.equal((await store.hit("k", MINUTE)).count, 5);
    clock.set(start + MINUTE);
    assert.deepEqual(await store.hit("k", MINUTE), { count: 1, resetAt: start + 2 * MINUTE });
  });

  test("hit() with a negative step refunds but never goes below zero", async (store) => {
    await store.hit("r", MINUTE, 2);
    assert.equal((await store.hit("r", MINUTE, -1)).count, 1);
    assert.equal((await store.hit("r", MINUTE, -5)).count, 0);
    assert.equal((await store.hit("fresh", MINUTE, -1)).count, 0);
  });

  test("peek() shows a live counter without changing it", async (store, clock) => {
    assert.deepEqual(await store.peek("p"), { count: 0, resetAt: 0 });
    const { resetAt } = await store.hit("p", MINUTE, 2);
    assert.deepEqual(await store.peek("p"), { count: 2, resetAt });
    assert.deepEqual(await store.peek("p"), { count: 2, resetAt });
    clock.advance(MINUTE);
    assert.deepEqual(await store.peek("p"), { count: 0, resetAt: 0 });
  });

  test("reset() forgets a counter", async (store) => {
    await store.hit("x", MINUTE, 3);
    await store.reset("x");
    assert.deepEqual(await store.peek("x"), { count: 0, resetAt: 0 });
    assert.equal((await store.hit("x", MINUTE)).count, 1);
    await store.reset("never-seen");
  });

  test(
    "block() keeps the later end and blockedUntil() lifts exactly then",
    async (store, clock) => {
      const now = clock.now();
      assert.equal(await store.blockedUntil("ip"), undefined);
      await store.block("ip", now + 10 * MINUTE);
      await store.block("ip", now + 5 * MINUTE);
      assert.equal(await store.blockedUntil("ip"), now + 10 * MINUTE);
      await store.block("ip", now + 20 * MINUTE);
      assert.equal(await store.blockedUntil("ip"), now + 20 * MINUTE);
      clock.set(now + 20 * MINUTE - 1);
      assert.equal(await store.blockedUntil("ip"), now + 20 * MINUTE);
      clock.set(now + 20 * MINUTE);
      assert.equal(await store.blockedUntil("ip"), undefined);
      await store.block("ip", now + 30 * MINUTE);
      assert.equal(await store.blockedUntil("ip"), now + 30 * MINUTE);
    },
  );

  test("keys are independent, whatever characters they hold", async (store) => {
    const keys = ["login:ip:2001:db8::/64", "pair:ü@example.com|1.2.3.4", "a b", "x".repeat(300)];
    for (const [i, key] of keys.entries()) await store.hit(key, MINUTE, i + 1);
    for (const [i, key] of keys.entries()) assert.equal((await store.peek(key)).count, i + 1);
    await store.block(keys[0], Date.UTC(2027, 0, 1));
    assert.equal(await store.blockedUntil(keys[1]), undefined);
  });

  test("hit() never loses a hit among 100 concurrent ones", async (store) => {
    const results = await Promise.all(Array.from({ length: 100 }, () => store.hit("c", MINUTE)));
    const counts = results.map((r) => r.count).sort((a, b) => a - b);
    assert.deepEqual(counts, Array.from({ length: 100 }, (_, i) => i + 1));
    assert.equal((await store.peek("c")).count, 100);
  });

  test("cleanup() removes what has expired and keeps what is live", async (store, clock) => {
    await store.hit("old", MINUTE);
    await store.block("old-block", clock.now() + MINUTE);
    await store.hit("live", 10 * MINUTE);
    await store.block("live-block", clock.now() + 10 * MINUTE);
    clock.advance(MINUTE);
    assert.equal(await store.cleanup(), options.cleansUp ? 2 : 0);
    assert.equal((await store.peek("live")).count, 1);
    assert.equal(await store.blockedUntil("live-block"), clock.now() + 9 * MINUTE);
    assert.equal(await store.cleanup(), 0);
  });
}
