/**
 * The counter store kept in Redis (RATE_LIMIT_STORE=redis), shared by every host on the
 * server.
 */
import type { Clock } from "./clock.ts";
import { type CounterHit, type CounterStore, CounterStoreUnavailable } from "./counter_store.ts";
import { redisClient, RedisError, type RedisReply } from "./redis_client.ts";

/** Options of {@linkcode redisCounterStore}. */
export interface RedisCounterStoreOptions {
  /** REDIS_URL: `redis://[user:password@]host[:port][/db]` or `rediss://...`. */
  url: string;
  clock: Clock;
  /** Prefix of every key, so several deployments can share one server. */
  prefix?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/**
 * One atomic fixed-window hit. The window is judged by the app's clock (passed in), as
 * in the memory and database stores; redis only expires the key once the window is over.
 * KEYS[1] = counter; ARGV = now, step, reset time of a new window, window length.
 */
const HIT = `
local state = redis.call('HMGET', KEYS[1], 'c', 'r')
local count = tonumber(state[1])
local reset = state[2]
local fresh = count == nil or not reset or tonumber(reset) <= tonumber(ARGV[1])
if fresh then
  count = 0
  reset = ARGV[3]
end
count = count + tonumber(ARGV[2])
if count < 0 then count = 0 end
redis.call('HSET', KEYS[1], 'c', count, 'r', reset)
if fresh then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return {count, reset}`;

/** Keeps the later of two blocks. KEYS[1] = block; ARGV = until, ms until then. */
const BLOCK = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1`;

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Counters in Redis, shared by every host that uses the same server. Each operation is
 * one command or one Lua script, so it is atomic in Redis. Expired keys are removed by
 * Redis itself, so cleanup() has nothing to do. Failures throw CounterStoreUnavailable.
 */
export function redisCounterStore(options: RedisCounterStoreOptions): CounterStore {
  const { clock } = options;
  const client = redisClient(options);
  const prefix = options.prefix ?? "citadel:";
  const counterKey = (key: string) => `${prefix}c:${key}`;
  const blockKey = (key: string) => `${prefix}b:${key}`;
  const shas = new Map<string, Promise<string>>();

  async function call(args: ReadonlyArray<string | number>): Promise<RedisReply> {
    try {
      return await client.command(args);
    } catch (error) {
      throw new CounterStoreUnavailable(error);
    }
  }

  /** EVALSHA, loading the script with EVAL when the server does not know it yet. */
  async function script(source: string, key: string, args: Array<string | number>) {
    let sha = shas.get(source);
    if (!sha) shas.set(source, sha = sha1(source));
    try {
      return await client.command(["EVALSHA", await sha, 1, key, ...args]);
    } catch (error) {
      if (error instanceof RedisError && error.message.startsWith("NOSCRIPT")) {
        return await call(["EVAL", source, 1, key, ...args]);
      }
      throw new CounterStoreUnavailable(error);
    }
  }

  return {
    kind: "redis",
    async hit(key, windowMs, by = 1) {
      const now = clock.now();
      const reply = await script(HIT, counterKey(key), [now, by, now + windowMs, windowMs]);
      const [count, resetAt] = reply as [number, string];
      return { count: Number(count), resetAt: Number(resetAt) };
    },
    async peek(key): Promise<CounterHit> {
      const [count, resetAt] = await call(["HMGET", counterKey(key), "c", "r"]) as [
        string | null,
        string | null,
      ];
      if (count === null || resetAt === null || Number(resetAt) <= clock.now()) {
        return { count: 0, resetAt: 0 };
      }
      return { count: Number(count), resetAt: Number(resetAt) };
    },
    async reset(key) {
      await call(["DEL", counterKey(key)]);
    },
    async block(key, untilMs) {
      const remaining = untilMs - clock.now();
      if (remaining <= 0) return;
      await script(BLOCK, blockKey(key), [untilMs, remaining]);
    },
    async blockedUntil(key) {
      const until = Number(await call(["GET", blockKey(key)]));
      return until > clock.now() ? until : undefined;
    },
    cleanup: () => Promise.resolve(0),
    close() {
      client.close();
      return Promise.resolve();
    },
  };
}
