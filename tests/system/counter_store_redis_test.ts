import assert from "node:assert/strict";
import { ManualClock, systemClock } from "../../src/platform/clock.ts";
import { CounterStoreUnavailable } from "../../src/platform/counter_store.ts";
import { redisCounterStore } from "../../src/platform/counter_store_redis.ts";
import { counterStoreContract } from "../support/counter_store_contract.ts";
import { startRedis } from "../support/redis_server.ts";

counterStoreContract("redisCounterStore()", async (clock) => {
  const server = await startRedis();
  const store = redisCounterStore({ url: server.url, clock });
  return {
    store,
    async close() {
      await store.close();
      await server.stop();
    },
  };
}, { cleansUp: false });

Deno.test("redisCounterStore() shares counters between connections without losing a hit", async () => {
  const server = await startRedis();
  const stores = [1, 2, 3].map(() => redisCounterStore({ url: server.url, clock: systemClock }));
  try {
    const results = await Promise.all(
      stores.flatMap((store) => Array.from({ length: 200 }, () => store.hit("shared", 60_000))),
    );
    const counts = results.map((r) => r.count).sort((a, b) => a - b);
    assert.deepEqual(counts, Array.from({ length: 600 }, (_, i) => i + 1));
    await stores[0].block("ip", Date.now() + 60_000);
    assert.ok((await stores[2].blockedUntil("ip"))! > Date.now());
  } finally {
    for (const store of stores) await store.close();
    await server.stop();
  }
});

Deno.test("redisCounterStore() lets redis expire a finished window by itself", async () => {
  const server = await startRedis();
  const store = redisCounterStore({ url: server.url, clock: systemClock, prefix: "t:" });
  const probe = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await store.hit("short", 150);
    await store.block("short-block", Date.now() + 150);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Ask the server directly: the keys are gone, not merely judged expired.
    await probe.write(
      new TextEncoder().encode(
        "*3\r\n$6\r\nEXISTS\r\n$9\r\nt:c:short\r\n$15\r\nt:b:short-block\r\n",
      ),
    );
    const buf = new Uint8Array(64);
    const n = await probe.read(buf);
    assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), ":0\r\n");
  } finally {
    probe.close();
    await store.close();
    await server.stop();
  }
});

Deno.test("redisCounterStore() authenticates and selects the database from the URL", async () => {
  const server = await startRedis({ args: ["--requirepass", "s3cret-pass"] });
  const clock = new ManualClock();
  const good = redisCounterStore({ url: `redis://:s3cret-pass@127.0.0.1:${server.port}/3`, clock });
  const other = redisCounterStore({
    url: `redis://:s3cret-pass@127.0.0.1:${server.port}/4`,
    clock,
  });
  const bad = redisCounterStore({ url: `redis://:wrong@127.0.0.1:${server.port}`, clock });
  try {
    assert.equal((await good.hit("k", 60_000)).count, 1);
    assert.equal((await good.hit("k", 60_000)).count, 2);
    assert.equal((await other.peek("k")).count, 0);
    await assert.rejects(bad.hit("k", 60_000), CounterStoreUnavailable);
  } finally {
    await good.close();
    await other.close();
    await bad.close();
    await server.stop();
  }
});

Deno.test("redisCounterStore() fails with CounterStoreUnavailable while redis is down and recovers", async () => {
  const server = await startRedis();
  const store = redisCounterStore({ url: server.url, clock: new ManualClock() });
  try {
    assert.equal((await store.hit("k", 60_000)).count, 1);
    await server.stop();
    await assert.rejects(store.hit("k", 60_000), CounterStoreUnavailable);
    await assert.rejects(store.blockedUntil("k"), CounterStoreUnavailable);
    const again = await startRedis({ port: server.port });
    try {
      // A fresh server has no counters, and the store reconnected by itself.
      assert.equal((await store.hit("k", 60_000)).count, 1);
    } finally {
      await store.close();
      await again.stop();
    }
  } finally {
    await store.close();
  }
});
