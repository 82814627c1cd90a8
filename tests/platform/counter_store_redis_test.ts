import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { CounterStoreUnavailable } from "../../src/platform/counter_store.ts";
import { redisCounterStore } from "../../src/platform/counter_store_redis.ts";
import { encodeCommand, parseReply, RedisError } from "../../src/platform/redis_client.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("encodeCommand() writes RESP bulk strings with byte lengths", () => {
  assert.equal(
    new TextDecoder().decode(encodeCommand(["SET", "clé", 42])),
    "*3\r\n$3\r\nSET\r\n$4\r\nclé\r\n$2\r\n42\r\n",
  );
});

Deno.test("parseReply() reads every RESP2 type and waits for incomplete replies", () => {
  const cases: Array<[string, unknown]> = [
    ["+OK\r\n", "OK"],
    [":42\r\n", 42],
    ["$5\r\nhe\r\no\r\n", "he\r\no"],
    ["$-1\r\n", null],
    ["*2\r\n:1\r\n$13\r\n1767225600000\r\n", [1, "1767225600000"]],
    ["*-1\r\n", null],
  ];
  for (const [wire, value] of cases) {
    const buf = bytes(wire);
    assert.deepEqual(parseReply(buf, 0), [value, buf.length], wire);
    for (let cut = 0; cut < buf.length; cut++) {
      assert.equal(parseReply(buf.subarray(0, cut), 0), undefined, `${wire} cut at ${cut}`);
    }
  }
  const [error] = parseReply(bytes("-NOSCRIPT No matching script\r\n"), 0)!;
  assert.ok(error instanceof RedisError);
  assert.equal(error.message, "NOSCRIPT No matching script");
  assert.throws(() => parseReply(bytes("?what\r\n"), 0), /malformed reply/);
});

Deno.test("redisCounterStore() throws CounterStoreUnavailable when nothing listens", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const store = redisCounterStore({ url: `redis://127.0.0.1:${port}`, clock: new ManualClock() });
  await assert.rejects(store.hit("k", 1000), CounterStoreUnavailable);
  await assert.rejects(store.peek("k"), CounterStoreUnavailable);
  await assert.rejects(store.block("k", Date.UTC(2030, 0, 1)), CounterStoreUnavailable);
  await store.close();
});

Deno.test("redisCounterStore() throws CounterStoreUnavailable when the server never answers", async () => {
  // Accepts connections and reads, but never replies: a hung server.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const store = redisCounterStore({
    url: `redis://127.0.0.1:${port}`,
    clock: new ManualClock(),
    commandTimeoutMs: 100,
  });
  const started = Date.now();
  await assert.rejects(store.hit("k", 1000), CounterStoreUnavailable);
  assert.ok(Date.now() - started < 2000);
  await store.close();
  listener.close();
  await accepting.catch(() => {});
  for (const conn of held) conn.close();
});

// A REDIS_URL that is not redis:// or rediss:// is refused by parseConfig (tests/config_test.ts).
